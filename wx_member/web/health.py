"""/healthz: the process is up. /readyz: the database answers and its schema is at head."""
from flask import Blueprint, jsonify

from wx_member.extensions import runtime
from wx_member.migrate import is_at_head

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        ready = is_at_head(runtime().engine)
    except Exception as exc:  # any database failure means "not ready", with the reason
        return jsonify(status="unavailable", error=type(exc).__name__), 503
    if not ready:
        return jsonify(status="unavailable", error="migrations not at head"), 503
    return jsonify(status="ok")
