"""What every /till/v1 blueprint shares: JSON errors through web/errors.py, the key check,
the OpenAPI security requirement, and the calling till."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

from wx_member.payments.till_keys import Till, check_store
from wx_member.platform.errors import DomainError
from wx_member.web.errors import domain_error
from wx_member.web.till.auth import till_required

PREFIX = "/till/v1"
TILL_SECURITY = [{"till": []}]


def blueprint(name: str, import_name: str, path: str, description: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=PREFIX + path, description=description)
    bp.register_error_handler(DomainError, domain_error)
    bp.before_request(till_required)
    return bp


def till() -> Till:
    return g.till


def store_id() -> int:
    return g.till.store_id


def acting_for(body: dict) -> None:
    """A body that names a store (`store_code`) must name the key's own."""
    check_store(g.till, body.get("store_code"))
