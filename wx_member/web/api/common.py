"""What every /api/ blueprint shares: JSON errors and its caller check, set up once when
the blueprint is made (Flask refuses setup after a blueprint's first registration)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import g

from wx_member.extensions import runtime
from wx_member.clock import utcnow
from wx_member.web import openapi
from wx_member.web.api.errors import domain_error

MEMBER_SECURITY = [{"member": []}]
CASHIER_SECURITY = [{"cashier": []}]


def blueprint(name: str, import_name: str, url_prefix: str, description: str,
              auth: Callable[[], None] | None) -> openapi.Blueprint:
    return openapi.blueprint(name, import_name, url_prefix, description, domain_error, auth)


def member_id() -> int:
    return g.member_id


def now() -> datetime:
    return utcnow()


def config():
    return runtime().config
