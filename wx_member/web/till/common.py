"""What every /till/v1 blueprint shares: JSON errors through web/errors.py, the key check,
the OpenAPI security requirement, and the calling till."""
from __future__ import annotations

from flask import g

from wx_member.payments.till_keys import Till, check_store
from wx_member.web import openapi
from wx_member.web.errors import domain_error
from wx_member.web.till.auth import till_required

PREFIX = "/till/v1"
TILL_SECURITY = [{"till": []}]


def blueprint(name: str, import_name: str, path: str, description: str) -> openapi.Blueprint:
    return openapi.blueprint(name, import_name, PREFIX + path, description, domain_error,
                             till_required)


def till() -> Till:
    return g.till


def store_id() -> int:
    return g.till.store_id


def acting_for(body: dict) -> None:
    """A body that names a store (`store_code`) must name the key's own."""
    check_store(g.till, body.get("store_code"))
