"""/healthz: the process is up. /readyz: the database answers and its schema is one this code
can serve: at this code's head, or newer (a rolling upgrade: a newer release migrated it,
and migrations are additive first, see docs/deploy.md). A database that still lacks this
code's migrations is not ready: the load balancer keeps traffic away until
`wx-member db upgrade` has run."""
from flask import Blueprint, jsonify

from wx_member.extensions import runtime
from wx_member.migrate import schema_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        state = schema_state(runtime().engine)
    except Exception as exc:  # any database failure means "not ready", with the reason
        return jsonify(status="unavailable", error=type(exc).__name__), 503
    if state == "behind":
        return jsonify(status="unavailable", error="migrations not at head"), 503
    return jsonify(status="ok", schema=state)
