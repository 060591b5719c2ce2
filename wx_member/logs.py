"""Log lines: one JSON object per line (`WX_LOG_FORMAT=json`, the default) or plain text
(`text`), each carrying the id of the request it belongs to, with members' personal data
masked in whatever is written.

The request id comes from the `X-Request-Id` header nginx sets (or a fresh one, see
web/observability.py) and is held in a context variable, so every line a request causes,
in any module, carries it without being passed around. Masking runs on the formatted line,
tracebacks included (a database error quotes the openid it failed on): openids and
unionids (28-29 characters starting with "o", or any value after `openid=`/`unionid:`)
keep 3 characters at the start and 2 at the end, mainland mobile numbers keep their first 3
and last 4 digits (138****5678).
"""
from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_ID_CHARS = "A-Za-z0-9_-"
_OPENID = re.compile(rf"(?<![{_ID_CHARS}])o[{_ID_CHARS}]{{26,28}}(?![{_ID_CHARS}])")
_ID_FIELD = re.compile(rf"((?:open|union)_?id[\"']?\s*[=:]\s*[\"']?)([{_ID_CHARS}]{{4,}})", re.I)
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def _mask_id(value: str) -> str:
    return value[:3] + "***" + value[-2:]


def mask(text: str) -> str:
    """Member PII out of a log line."""
    text = _ID_FIELD.sub(lambda m: m.group(1) + _mask_id(m.group(2)), text)
    text = _OPENID.sub(lambda m: _mask_id(m.group(0)), text)
    return _PHONE.sub(r"\1****\2", text)


def _utc_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str = TEXT_FORMAT, **kw):
        super().__init__(fmt, **kw)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class JsonFormatter(_JsonFormatter):
    def __init__(self, fmt: str = JSON_FIELDS, **kw):
        kw.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kw.setdefault("json_ensure_ascii", False)  # Chinese stays readable
        super().__init__(fmt, **kw)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class AccessRequestId(logging.Filter):
    """gunicorn's access log lines are written after the request, outside it: take their
    request id from the response header gunicorn logs (`{x-request-id}o`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping) and getattr(record, "request_id", "-") == "-":
            record.request_id = record.args.get("{x-request-id}o") or "-"
        return True


def formatter(kind: str | None = None) -> logging.Formatter:
    """The formatter for WX_LOG_FORMAT (json | text); gunicorn's log config uses it too."""
    kind = (kind or os.environ.get("WX_LOG_FORMAT") or "json").strip().lower()
    if kind not in ("json", "text"):
        raise ValueError(f"WX_LOG_FORMAT must be json or text, not {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


# Every record, from any logger, from the moment this module is imported (gunicorn's
# master imports it with its log config), gets `request_id`.
logging.setLogRecordFactory(_record_with_request_id)


def configure(kind: str | None = None, level: int = logging.INFO) -> None:
    """The root logger gets a handler with our formatter unless someone (gunicorn's log
    config, pytest) has already given it handlers."""
    formatter(kind)  # refuse a bad WX_LOG_FORMAT at start-up
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up noise
    # APScheduler announces every job it adds ("Adding job tentatively", a line a job) and
    # its start; its warnings (a missed run) and errors (a job that raised) still show.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(kind))
        root.addHandler(handler)
        root.setLevel(level)
