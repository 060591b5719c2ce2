"""Request ids, request metrics and /metrics.

Each request gets an id: nginx's `X-Request-Id` when it sends a sane one (so its access log
and ours line up), a fresh one otherwise. It is in every log line the request causes
(wx_member/logs.py) and in the response's `X-Request-Id`.

/metrics is for Prometheus on the private network: nginx does not route it from outside
(docs/deploy.md).
"""
from __future__ import annotations

import os
import re
import time

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess

from wx_member import metrics
from wx_member.extensions import runtime
from wx_member.logs import REQUEST_ID

bp = Blueprint("observability", __name__)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def init_app(app: Flask) -> None:
    """Request ids and the request metrics around the whole app (a WSGI middleware: one
    call a request instead of three Flask hooks), the endpoint's name from one hook."""
    app.before_request(_note_endpoint)
    app.wsgi_app = _Observed(app.wsgi_app)
    app.register_blueprint(bp)


_ENDPOINT = "wx_member.endpoint"  # environ key: the endpoint the request was routed to


def _note_endpoint() -> None:
    endpoint = request.endpoint or "unmatched"
    request.environ[_ENDPOINT] = endpoint
    metrics.HTTP_IN_PROGRESS.labels(endpoint).inc()


class _Observed:
    """Each request gets an id (a sane incoming `X-Request-Id`, or a fresh one) for its log
    lines and its answer's header; once answered, its latency and status are counted by the
    endpoint that `_note_endpoint` recorded (none when Flask answered before routing)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if incoming and _SANE_ID.fullmatch(incoming) else os.urandom(16).hex()
        token = REQUEST_ID.set(request_id)
        status = ["500"]

        def answer(code, headers, exc_info=None):
            status[0] = code[:3]
            headers.append(("X-Request-Id", request_id))
            return start_response(code, headers, exc_info)

        started = time.perf_counter()
        try:
            return self.wsgi_app(environ, answer)
        finally:
            endpoint = environ.get(_ENDPOINT)
            if endpoint is not None:
                metrics.HTTP_IN_PROGRESS.labels(endpoint).dec()
                metrics.HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
                metrics.HTTP_REQUESTS.labels(endpoint, status[0]).inc()
            REQUEST_ID.reset(token)


class _ThisProcess:
    """The default registry as one collector among others."""

    def collect(self):
        return REGISTRY.collect()


@bp.get("/metrics")
def metrics_view() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's (and scheduler's) files
    else:
        registry.register(_ThisProcess())
    registry.register(metrics.SchedulerCollector(runtime().engine))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
