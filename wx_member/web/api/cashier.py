"""The dynamic member code: the member shows it, the cashier's system resolves it, takes
points off an order with it, or redeems one of the member's coupons on an order.

/api/cashier/* is deprecated: the same calls live under /till/v1 (wx_member/web/till/) with a
key per till and store. It keeps working with the shared X-Cashier-Key, documented as
deprecated, and its answers carry `Deprecation: true` and a Link to the successor."""
from __future__ import annotations

from flask import g, request

from wx_member.labels import tier_name
from wx_member.clock import from_timestamp
from wx_member.payments import cashier_desk
from wx_member.members import member_codes
from wx_member.web.api.auth import cashier_required, member_required, secret_key
from wx_member.web.api.common import CASHIER_SECURITY, blueprint, config, member_id
from wx_member.web.api.schemas import CashierIn, CashierMemberOut, MemberCodeOut
from wx_member.web.api.wallet_schemas import CashOffIn, CashOffOut, CouponUseIn, CouponUseOut

member_bp = blueprint("member_code", __name__, "/api/me", "Dynamic member code",
                      auth=member_required)
cashier_bp = blueprint("cashier", __name__, "/api/cashier",
                       "Cashier (deprecated: use /till/v1): a scanned member code, points "
                       "off an order, coupons", auth=cashier_required)
SUCCESSOR = {"resolve": "/till/v1/members/identify", "cash_off": "/till/v1/cash-off",
             "redeem_coupon": "/till/v1/coupons/redeem"}


@cashier_bp.after_request
def _deprecated(response):
    response.headers["Deprecation"] = "true"
    successor = SUCCESSOR.get((request.endpoint or "").rpartition(".")[2])
    if successor:
        response.headers["Link"] = f'<{successor}>; rel="successor-version"'
    return response


@member_bp.route("/member-code")
@member_bp.response(200, MemberCodeOut)
def member_code():
    """A short-lived signed code to show the cashier (refresh before it expires)."""
    signed = member_codes.issue(g.db, secret_key(), member_id(), config().member_code_ttl)
    return {"code": signed.token, "expires_in": signed.ttl,
            "expires_at": from_timestamp(signed.expires_at)}


@cashier_bp.route("/resolve", methods=["POST"])
@cashier_bp.doc(security=CASHIER_SECURITY, deprecated=True)
@cashier_bp.arguments(CashierIn)
@cashier_bp.response(200, CashierMemberOut)
def resolve(body):
    """The member behind a scanned member code."""
    member = member_codes.resolve(g.db, secret_key(), body["code"])
    return {"card_no": member.card_no, "tier": member.tier, "tier_name": tier_name(member.tier),
            "points": member.points_balance}


@cashier_bp.route("/cash-off", methods=["POST"])
@cashier_bp.doc(security=CASHIER_SECURITY, deprecated=True)
@cashier_bp.arguments(CashOffIn)
@cashier_bp.response(200, CashOffOut)
def cash_off(body):
    """Pay part of an order with the points of the member whose code was scanned, once per
    order (a retry with the same order and amount answers the same)."""
    return cashier_desk.cash_off(g.db, secret_key(), body["code"], body["order_no"],
                                 body["amount_fen"], body.get("points"))


@cashier_bp.route("/coupons/redeem", methods=["POST"])
@cashier_bp.doc(security=CASHIER_SECURITY, deprecated=True)
@cashier_bp.arguments(CouponUseIn)
@cashier_bp.response(200, CouponUseOut)
def redeem_coupon(body):
    """Use one of the scanned member's coupons on an order: the discount in fen (0 and the
    item for a 兑换 coupon). Once per coupon; the same order again answers the same."""
    return cashier_desk.redeem_coupon(g.db, secret_key(), body["code"], body["coupon_code"],
                                      body["order_no"], body["amount_fen"])
