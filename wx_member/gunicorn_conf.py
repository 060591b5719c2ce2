"""gunicorn settings for wx-member (docs/deploy.md explains each choice):

    gunicorn -c python:wx_member.gunicorn_conf

Environment: `WX_BIND` (default 127.0.0.1:8000; nginx in front), `WEB_CONCURRENCY` (workers,
default 2 × cores + 1), `WX_GUNICORN_TIMEOUT` (default 6), `WX_GUNICORN_GRACEFUL_TIMEOUT`
(default 10), `WX_FORWARDED_ALLOW_IPS` (default 127.0.0.1: the local nginx),
`PROMETHEUS_MULTIPROC_DIR` (default: a fresh directory under /tmp), `WX_LOG_FORMAT`,
`WX_ACCESS_LOG` (default on; `off` when nginx's access log is enough: one line less to
format and write per request).
The app itself is configured by the usual variables (DATABASE_URL, REDIS_URL, WX_*).

Timeouts against WeChat's budget: WeChat waits 5 s for an answer, then gives up and sends
the event again (3 tries). A sync worker answers one request at a time, so a request still
running after `timeout` seconds is one WeChat has already abandoned: the worker is killed,
its transaction rolls back in the database, and the retry, deduplicated by the event's key,
does the work once. `graceful_timeout`: on SIGTERM (deploys, systemd stop) workers stop
accepting and finish the requests they hold; every one of those is capped by `timeout`,
so 10 s is always enough.
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


wsgi_app = "wx_member.app:create_app()"
bind = [b.strip() for b in _env("WX_BIND", "127.0.0.1:8000").split(",")]
# Sync workers: one request each, no threads sharing a database session. The work is short
# database transactions, so 2 × cores + 1 keeps the cores busy while others wait on I/O.
worker_class = "sync"
workers = int(_env("WEB_CONCURRENCY", str(2 * multiprocessing.cpu_count() + 1)))
timeout = int(_env("WX_GUNICORN_TIMEOUT", "6"))
graceful_timeout = int(_env("WX_GUNICORN_GRACEFUL_TIMEOUT", "10"))
# Each worker builds its own engine and pool after the fork: no connection is shared.
preload_app = False
# Recycle workers now and then (bounded memory growth), not all at once. Rarely: a new
# worker imports the app for about a second while the connections it accepted wait, so
# recycling every 10,000 requests put a stall into p99 every ~10 s per worker at benchmark
# rates (issue 19: the mini-program reads' p99 380-510 ms; the bare app, lighter to import,
# 40-80 ms).
max_requests = 100_000
max_requests_jitter = 10_000
# WeChat events are a few hundred bytes; refuse absurd request lines and headers early.
limit_request_line = 8190
limit_request_fields = 50
# The worker heartbeat file: in tmpfs, so a slow disk cannot make workers look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicorn 23+'s control socket defaults to one path per user: two masters on a host (two
# apps, a benchmark) would take it from each other. Nothing here uses it.
control_socket_disable = True
forwarded_allow_ips = _env("WX_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Metrics: every worker writes its own files here and /metrics adds them up. It must be set
# before any worker imports prometheus_client, hence here, in the master.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wx-member-metrics-")
os.environ.setdefault("WX_LOG_FORMAT", "json")

# Logs: one JSON line each (wx_member.logs), to stderr (systemd's journal). The access log
# leaves out the query string: WeChat puts the member's openid there.
accesslog = None if _env("WX_ACCESS_LOG", "on").lower() in ("off", "0", "no", "false") else "-"
access_log_format = ('%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms '
                     'rid=%({x-request-id}o)s')
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"wx": {"()": "wx_member.logs.formatter"}},
    "filters": {"rid": {"()": "wx_member.logs.AccessRequestId"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "wx",
                             "filters": ["rid"], "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server) -> None:
    """Refuse to start on a database without this code's schema: one log line and exit 2,
    before any worker (each would fail on every request). Then forget the metric files of
    processes that are gone (a previous run of this master); a live scheduler sharing the
    directory keeps its own."""
    _require_schema(server)
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def _require_schema(server) -> None:
    import sys

    from wx_member import logs

    logs.configure()  # the levels: alembic's import-time chatter stays out of the log
    from wx_member import migrate
    from wx_member.config import Config
    from wx_member.db import make_engine

    engine = make_engine(Config.from_env().database_url)
    try:
        migrate.require_schema(engine)
    except migrate.SchemaNotReady as exc:
        server.log.error("%s", exc)
        sys.exit(2)
    finally:
        engine.dispose()  # no connection crosses the fork into a worker


def post_worker_init(worker) -> None:
    """The app is loaded: move everything it allocated so far (modules, mappers, compiled
    statements, some 150,000 objects) out of the garbage collector's sight. Its full
    collections otherwise walk them all, now and then in the middle of a request."""
    import gc

    gc.freeze()


def child_exit(server, worker) -> None:
    """A dead worker's in-progress gauges must not count any more."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
