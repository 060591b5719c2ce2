"""The dynamic member code: the member shows it, the cashier's system resolves it."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import g

from wx_member.replies import tier_name
from wx_member.services import member_codes
from wx_member.web.api.auth import cashier_required, member_required, secret_key
from wx_member.web.api.common import CASHIER_SECURITY, blueprint, config, member_id
from wx_member.web.api.schemas import CashierIn, CashierMemberOut, MemberCodeOut

member_bp = blueprint("member_code", __name__, "/api/me", "Dynamic member code",
                      auth=member_required)
cashier_bp = blueprint("cashier", __name__, "/api/cashier", "Cashier: resolve a scanned member code",
                       auth=cashier_required)


@member_bp.route("/member-code")
@member_bp.response(200, MemberCodeOut)
def member_code():
    """A short-lived signed code to show the cashier (refresh before it expires)."""
    signed = member_codes.issue(g.db, secret_key(), member_id(), config().member_code_ttl)
    return {"code": signed.token, "expires_in": signed.ttl,
            "expires_at": datetime.fromtimestamp(signed.expires_at, timezone.utc)}


@cashier_bp.route("/resolve", methods=["POST"])
@cashier_bp.doc(security=CASHIER_SECURITY)
@cashier_bp.arguments(CashierIn)
@cashier_bp.response(200, CashierMemberOut)
def resolve(body):
    """The member behind a scanned member code."""
    member = member_codes.resolve(g.db, secret_key(), body["code"])
    return {"card_no": member.card_no, "tier": member.tier, "tier_name": tier_name(member.tier),
            "points": member.points_balance}
