"""/till/v1/: the API shops' tills (POS) call, JSON, in the same generated OpenAPI document
as /api (/api/openapi.json, Swagger UI at /api/docs). docs/till.md is the contract.

Every call carries `Authorization: Bearer <till key>` (a key per till, issued for one store,
see payments/till_keys.py); `auth.till_required` checks it before any route runs and leaves
the till and its store in `g.till` (`common.till()`, `common.store_id()`). A key acts for
its own store only.

Modules: auth (the key check), common (what every till blueprint shares), schemas, members
(identify a member, the key's own store), desk (points off an order, coupons: moved here
from /api/cashier, which stays as a deprecated alias). A new endpoint is one route function
in one of them, or a new module whose blueprint is added to BLUEPRINTS.
"""
from __future__ import annotations

from flask_smorest import Api

from wx_member.web.till import desk, members

from wx_member.web.till import orders  # noqa: E402  (quote, purchases, refunds)
from wx_member.web.till import self_payments  # noqa: E402  (到店买单 at this store)

BLUEPRINTS = (members.bp, desk.bp, orders.bp, self_payments.bp)


def register(api: Api) -> None:
    """On /api's Api extension (web.api.register), so /api/openapi.json documents /till/v1."""
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
