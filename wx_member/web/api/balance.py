"""Stored value (储值): the member's balance and its ledger, and the recharge ladder."""
from __future__ import annotations

from flask import g
from marshmallow import RAISE

from wx_member.payments import balance_view
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.wallet_schemas import BalancePageOut, PageQuery, RechargeOptionsOut

bp = blueprint("balance", __name__, "/api", "Stored value and recharge options",
               auth=member_required)


@bp.route("/me/balance")
@bp.arguments(PageQuery, location="query", unknown=RAISE)
@bp.response(200, BalancePageOut)
def balance(query):
    """My stored-value balance and its ledger, newest first, with Chinese reasons."""
    return balance_view.page(g.db, member_id(), query.get("before"), query["limit"])


@bp.route("/recharge/options")
@bp.response(200, RechargeOptionsOut)
def recharge_options():
    """The recharge ladder (充500送50 …), lowest first; the bonus is the highest rung a
    recharge reaches, fixed when POST /api/me/recharges makes its order."""
    return {"options": balance_view.recharge_choices(g.db)}
