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
import uuid

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess

from wx_member import metrics
from wx_member.extensions import runtime
from wx_member.logs import REQUEST_ID

bp = Blueprint("observability", __name__)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id_token = REQUEST_ID.set(g.request_id)
        g.metrics_endpoint = request.endpoint or "unmatched"
        g.metrics_t0 = time.perf_counter()
        metrics.HTTP_IN_PROGRESS.labels(g.metrics_endpoint).inc()

    @app.after_request
    def _answer(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-Id"] = g.request_id
        g.metrics_status = response.status_code
        return response

    @app.teardown_request
    def _end(_exc) -> None:
        endpoint = g.pop("metrics_endpoint", None)
        if endpoint is not None:
            metrics.HTTP_IN_PROGRESS.labels(endpoint).dec()
            metrics.HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - g.metrics_t0)
            metrics.HTTP_REQUESTS.labels(endpoint, str(g.get("metrics_status", 500))).inc()
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)

    app.register_blueprint(bp)


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
