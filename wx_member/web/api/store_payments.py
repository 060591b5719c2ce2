"""到店买单: a member pays a store from the mini-program (docs/api.md). The open stores; the
quote of an amount at a store (the member's benefit, a coupon, points as cash off); the
payment's state to poll and to show the cashier; the schemas of paying it (the route, rate
limited, is web/api/store_pay.py). A WeChat Pay order is given up through the existing
POST /api/me/orders/{no}/cancel."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import RAISE, fields, validate

from wx_member.extensions import runtime
from wx_member.payments import store_checkout, store_payments
from wx_member.platform.errors import InvalidAmount
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.recharges import RequestPaymentOut
from wx_member.web.api.schemas import Strict, UtcDateTime

bp = blueprint("store_payments", __name__, "/api", "到店买单: paying a store",
               auth=member_required)

AMOUNT = {"minimum": 1, "maximum": store_checkout.MAX_FEN,
          "description": "what the till shows, in fen: 1 to 50,000,000 (else 400 "
                         "INVALID_AMOUNT)"}
UNDISCOUNTED = {"minimum": 0, "maximum": store_checkout.MAX_FEN,
                "description": "不参与优惠金额, in fen: the part of amount_fen with no member "
                               "benefit, coupon or points (paid in full, earning points); 0 "
                               "to amount_fen, default 0 (else 400 INVALID_AMOUNT)"}
COUPON = validate.Length(1, 20)


class UndiscountedFen(fields.Integer):
    """An integer field whose ill-shaped value is refused as an out-of-range one is: 400
    INVALID_AMOUNT (the use case checks the range), not 422."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError:
            raise InvalidAmount(f"undiscounted_fen {value!r} is not an integer",
                                user_message=store_checkout.UNDISCOUNTED_NOT_FEN) from None
POINTS = validate.Range(0, 10**9)


class OpenStoreOut(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    city = fields.String(required=True)
    address = fields.String(required=True)


class OpenStoresOut(ma.Schema):
    stores = fields.List(fields.Nested(OpenStoreOut), required=True)


class PaidStoreOut(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class StorePointsOut(ma.Schema):
    points = fields.Integer(required=True)
    fen = fields.Integer(required=True)


class StoreCouponOut(ma.Schema):
    code = fields.String(required=True)
    title = fields.String(required=True)
    saving_fen = fields.Integer(required=True)


class StoreCheckoutQuery(ma.Schema):
    amount_fen = fields.Integer(required=True, strict=False, metadata=AMOUNT)
    coupon = fields.String(validate=COUPON, metadata={
        "description": "a code of usable_coupons (at most one)"})
    points = fields.Integer(validate=POINTS, metadata={
        "description": "points to take as cash off (0: none)"})
    undiscounted_fen = UndiscountedFen(strict=False, metadata=UNDISCOUNTED)


class StoreCheckoutOut(ma.Schema):
    store = fields.Nested(PaidStoreOut, required=True)
    amount_fen = fields.Integer(required=True)
    undiscounted_fen = fields.Integer(required=True, metadata={
        "description": "不参与优惠金额 asked for (0: none)"})
    member_fen = fields.Integer(required=True, metadata={
        "description": "the discountable part (amount_fen - undiscounted_fen) after the "
                       "member's benefit (tier discount or member day), plus "
                       "undiscounted_fen"})
    benefit_fen = fields.Integer(required=True)
    benefit = fields.String(required=True, allow_none=True, metadata={
        "description": "the benefit applied, in Chinese (金卡 95 折), null when none"})
    coupon = fields.Nested(StoreCouponOut, required=True, allow_none=True)
    usable_coupons = fields.List(fields.Nested(StoreCouponOut), required=True)
    points_max = fields.Nested(StorePointsOut, required=True)
    points_used = fields.Nested(StorePointsOut, required=True)
    payable_fen = fields.Integer(required=True)
    points_to_earn = fields.Integer(required=True)
    balance_fen = fields.Integer(required=True)


class StorePaymentIn(Strict):
    store_code = fields.String(required=True, validate=validate.Length(1, 20))
    amount_fen = fields.Integer(required=True, strict=True, metadata=AMOUNT)
    coupon = fields.String(allow_none=True, validate=COUPON)
    points = fields.Integer(allow_none=True, strict=True, validate=POINTS)
    undiscounted_fen = UndiscountedFen(allow_none=True, strict=True, metadata=UNDISCOUNTED)
    pay_with = fields.String(required=True, validate=validate.OneOf(store_payments.PAY_WITH))


class StorePaymentOut(ma.Schema):
    out_trade_no = fields.String(required=True)
    store = fields.Nested(PaidStoreOut, required=True)
    amount_fen = fields.Integer(required=True)
    undiscounted_fen = fields.Integer(required=True, metadata={
        "description": "of amount_fen, 不参与优惠 (0: none)"})
    benefit_fen = fields.Integer(required=True)
    coupon_saving_fen = fields.Integer(required=True)
    points_used = fields.Nested(StorePointsOut, required=True)
    payable_fen = fields.Integer(required=True)
    pay_with = fields.String(required=True, metadata={"description": "balance | wechat"})
    status = fields.String(required=True, metadata={
        "description": "paid | created | closed | failed"})
    status_zh = fields.String(required=True)
    points_earned = fields.Integer(required=True, allow_none=True, metadata={
        "description": "null until paid"})
    balance_fen = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the stored value after paying; null until paid"})
    created_at = UtcDateTime(required=True)
    paid_at = UtcDateTime(required=True, allow_none=True)


class StorePaidOut(ma.Schema):
    payment = fields.Nested(StorePaymentOut, required=True)
    request_payment = fields.Nested(RequestPaymentOut, required=True, allow_none=True,
                                    metadata={"description": "wx.requestPayment's "
                                                             "arguments; null when paid"})
    replayed = fields.Boolean(required=True)


class OneStorePaymentOut(ma.Schema):
    payment = fields.Nested(StorePaymentOut, required=True)


@bp.route("/stores")
@bp.response(200, OpenStoresOut)
def stores():
    """The open stores, by code (for the pay page opened without a store)."""
    return {"stores": store_checkout.stores(g.db)}


@bp.route("/stores/<string:code>/checkout")
@bp.arguments(StoreCheckoutQuery, location="query", unknown=RAISE)
@bp.response(200, StoreCheckoutOut)
def checkout(query, code: str):
    """What an amount at this store costs me: my benefit, the coupon and points asked
    for, the coupons usable and the most points. Writes nothing. 404 STORE_NOT_FOUND for
    an unknown or closed store."""
    return store_checkout.quote(g.db, member_id(), code, query["amount_fen"],
                                coupon=query.get("coupon"), points=query.get("points"),
                                undiscounted_fen=query.get("undiscounted_fen"),
                                tz=runtime().config.tz)


@bp.route("/me/store-payments/<string:no>")
@bp.response(200, OneStorePaymentOut)
def payment(no: str):
    """One of my store payments (404 PAY_ORDER_NOT_FOUND for any other number)."""
    return store_payments.payment_of(g.db, member_id(), no)
