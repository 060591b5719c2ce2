"""The JSON surfaces' blueprints (the mini-program API /api/ and the till API /till/v1):
flask-smorest's, each made with its surface's error answer and caller check, set up once
when the blueprint is made (Flask refuses setup after a blueprint's first registration)."""
from __future__ import annotations

from collections.abc import Callable

import flask_smorest

from wx_member.platform.errors import DomainError


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, *args, **kwargs):
        # Given a Schema class, webargs makes an instance on every request (marshmallow
        # copies the declared fields each time: ~25 µs of a read's ~500). One instance,
        # made here, serves every request: loading does not change it.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def blueprint(name: str, import_name: str, url_prefix: str, description: str,
              answer: Callable, auth: Callable[[], None] | None) -> Blueprint:
    """`answer`: how the surface answers a DomainError; `auth`: its caller check (None:
    the blueprint's routes check for themselves)."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix, description=description)
    bp.register_error_handler(DomainError, answer)
    if auth is not None:
        bp.before_request(auth)
    return bp
