"""/till/v1/cash-off and /till/v1/coupons/redeem: points off an order and a coupon used on
it, with the member code the customer shows (their consent). Moved here from /api/cashier
(same bodies and answers, plus an optional `store_code`); /api/cashier stays as a
deprecated alias with the shared X-Cashier-Key. /till/v1/sales/cancel gives back what these
two took off a sale that was never paid."""
from __future__ import annotations

from flask import g

from wx_member.payments import cashier_desk, sale_cancel
from wx_member.web.api.auth import secret_key
from wx_member.web.api.wallet_schemas import CashOffOut, CouponUseOut
from wx_member.web.till.common import TILL_SECURITY, acting_for, blueprint, store_id
from wx_member.web.till.schemas import (SaleCancelIn, SaleCancelOut, TillCashOffIn,
                                        TillCouponUseIn)

bp = blueprint("till_desk", __name__, "", "Till: points off an order, coupons")


@bp.route("/cash-off", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.arguments(TillCashOffIn)
@bp.response(200, CashOffOut)
def cash_off(body):
    """Pay part of an order with the points of the member whose code was scanned, once per
    order (a retry with the same order and amount answers the same)."""
    acting_for(body)
    return cashier_desk.cash_off(g.db, secret_key(), body["code"], body["order_no"],
                                 body["amount_fen"], body.get("points"), store_id=store_id())


@bp.route("/coupons/redeem", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.arguments(TillCouponUseIn)
@bp.response(200, CouponUseOut)
def redeem_coupon(body):
    """Use one of the scanned member's coupons on an order: the discount in fen (0 and the
    item for a 兑换 coupon). Once per coupon; the same order again answers the same."""
    acting_for(body)
    return cashier_desk.redeem_coupon(g.db, secret_key(), body["code"], body["coupon_code"],
                                      body["order_no"], body["amount_fen"],
                                      store_id=store_id())


@bp.route("/sales/cancel", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.arguments(SaleCancelIn)
@bp.response(200, SaleCancelOut)
def cancel_sale(body):
    """The sale was never paid (the customer left, the cashier voided it): give back the
    points and coupons this store's tills took off it with /cash-off and /coupons/redeem.
    Once: a repeat answers the first answer (`replayed`)."""
    acting_for(body)
    return sale_cancel.cancel_sale(g.db, store_id(), body["order_no"], body["reason"])
