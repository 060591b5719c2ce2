"""What every /api/ blueprint shares: JSON errors and its caller check, set up once when
the blueprint is made (Flask refuses setup after a blueprint's first registration)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import g
from flask_smorest import Blueprint

from wx_member.extensions import runtime
from wx_member.clock import utcnow
from wx_member.platform.errors import DomainError
from wx_member.web.api.errors import domain_error

MEMBER_SECURITY = [{"member": []}]
CASHIER_SECURITY = [{"cashier": []}]


def blueprint(name: str, import_name: str, url_prefix: str, description: str,
              auth: Callable[[], None] | None) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=url_prefix, description=description)
    bp.register_error_handler(DomainError, domain_error)
    if auth is not None:
        bp.before_request(auth)
    return bp


def member_id() -> int:
    return g.member_id


def now() -> datetime:
    return utcnow()


def config():
    return runtime().config
