"""Request and response shapes of the wallet endpoints: coupons, gifts and redemptions,
stored value and recharge options, and the till's cash-off and coupon use (marshmallow;
conventions as in schemas.py: UTC instants, local dates, fen, whole points)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from wx_member.coupons.wallet_view import LISTS
from wx_member.platform.paging import MAX_ID
from wx_member.web.api import gift_images as gift_images_web
from wx_member.web.api.schemas import PointsQuery, Strict, UtcDateTime

IDEMPOTENCY_HEADER = "Idempotency-Key"
REQUEST_KEY = validate.Regexp(r"^[A-Za-z0-9_\-.:]{8,64}$",
                              error="8-64 letters, digits or _ - . :, e.g. a UUID")
ORDER_NO = validate.Regexp(r"^[A-Za-z0-9_\-|*@]{1,64}$",
                           error="1-64 letters, digits or _-|*@ (WeChat Pay's out_trade_no)")
FEN = validate.Range(1, 10**12)


class PageQuery(PointsQuery):
    """`before` (cursor: the previous page's next_before) and `limit` 1-50."""


class CouponsQuery(PageQuery):
    status = fields.String(load_default="available", validate=validate.OneOf(LISTS),
                           metadata={"description": "which list: available (default), used, "
                                                    "expired (including past their end today)"})


# -- coupons ----------------------------------------------------------------------------------
class CouponRulesOut(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "amount_off | percent_off | item"})
    kind_zh = fields.String(required=True)
    min_spend_fen = fields.Integer(required=True)
    amount_off_fen = fields.Integer(allow_none=True, required=True)
    percent_off = fields.Integer(allow_none=True, required=True, metadata={
        "description": "percent taken off (20: pay 80%, 8折)"})
    cap_fen = fields.Integer(allow_none=True, required=True)
    item = fields.String(allow_none=True, required=True)
    min_tier = fields.String(allow_none=True, required=True)
    min_tier_name = fields.String(allow_none=True, required=True)


class CouponOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "show it at the till"})
    name = fields.String(required=True)
    text = fields.String(required=True, metadata={"description": "e.g. 满50减10"})
    status = fields.String(required=True, metadata={
        "description": "available | used | expired | void, as in force now"})
    status_zh = fields.String(required=True)
    first_day = fields.Date(required=True, metadata={"description": "local, inclusive"})
    last_day = fields.Date(required=True, metadata={"description": "local, inclusive"})
    valid_until = UtcDateTime(required=True, metadata={"description": "the exact end (exclusive)"})
    issued_at = UtcDateTime(required=True)
    used_at = UtcDateTime(allow_none=True, required=True)
    order_no = fields.String(allow_none=True, required=True)
    discount_fen = fields.Integer(allow_none=True, required=True)
    rules = fields.Nested(CouponRulesOut, required=True)
    stores = fields.List(fields.String(), required=True, metadata={
        "description": "names of the stores it can be used in; empty: every store"})
    where = fields.String(required=True, metadata={
        "description": "where it can be used, e.g. 全部门店可用, 限人民广场店使用"})


class CouponsPageOut(ma.Schema):
    coupons = fields.List(fields.Nested(CouponOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


# -- gifts and redemptions --------------------------------------------------------------------
class GiftOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    points = fields.Integer(required=True, metadata={"description": "cost of one"})
    stock = fields.Integer(required=True, metadata={"description": "0: 已兑完"})
    image_url = fields.Method("_image_url", required=True, allow_none=True, metadata={
        "type": "string", "nullable": True,
        "description": "the gift's picture (absolute URL, cacheable for good: a new picture "
                       "is a new URL); null when it has none"})

    def _image_url(self, gift) -> str | None:
        return gift_images_web.url_for_gift(gift.id, gift.image_digest)


class GiftsOut(ma.Schema):
    gifts = fields.List(fields.Nested(GiftOut), required=True)


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other header

    key = fields.String(required=True, data_key=IDEMPOTENCY_HEADER, validate=REQUEST_KEY,
                        metadata={"description": "the client's id for this one tap (兑换, "
                                                 "支付): a new UUID per tap, the same on a "
                                                 "retry"})


class RedeemIn(Strict):
    gift_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID))
    quantity = fields.Integer(load_default=1, validate=validate.Range(1, 20))


class RedemptionOut(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "gift | cash_off"})
    points = fields.Integer(required=True, metadata={"description": "points it took"})
    gift_id = fields.Integer(allow_none=True, required=True)
    gift_name = fields.String(allow_none=True, required=True)
    quantity = fields.Integer(allow_none=True, required=True)
    order_no = fields.String(allow_none=True, required=True)
    fen_off = fields.Integer(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class RedeemedOut(ma.Schema):
    redemption = fields.Nested(RedemptionOut, required=True)
    points_balance = fields.Integer(required=True, metadata={"description": "after it"})
    replayed = fields.Boolean(required=True, metadata={
        "description": "true: this key was redeemed before; nothing changed now"})


class RedemptionsPageOut(ma.Schema):
    redemptions = fields.List(fields.Nested(RedemptionOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


# -- stored value -----------------------------------------------------------------------------
class BalanceEntryOut(ma.Schema):
    id = fields.Integer(required=True)
    delta_fen = fields.Integer(required=True)
    reason = fields.String(required=True)
    reason_zh = fields.String(required=True)
    order_no = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class BalancePageOut(ma.Schema):
    balance_fen = fields.Integer(required=True)
    entries = fields.List(fields.Nested(BalanceEntryOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class RechargeOptionOut(ma.Schema):
    amount_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer(required=True)
    text = fields.String(required=True, metadata={"description": "e.g. 充500送50"})


class RechargeOptionsOut(ma.Schema):
    options = fields.List(fields.Nested(RechargeOptionOut), required=True)


# -- the till ---------------------------------------------------------------------------------
class CashOffIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 1024),
                         metadata={"description": "the member code the customer shows"})
    order_no = fields.String(required=True, validate=ORDER_NO)
    amount_fen = fields.Integer(required=True, validate=FEN, metadata={
        "description": "the order's amount"})
    points = fields.Integer(validate=validate.Range(1, MAX_ID), metadata={
        "description": "points to use (default: as many as allowed)"})


class CashOffOut(ma.Schema):
    card_no = fields.String(required=True)
    order_no = fields.String(required=True)
    order_amount_fen = fields.Integer(required=True)
    points = fields.Integer(required=True)
    fen_off = fields.Integer(required=True)
    points_balance = fields.Integer(required=True)
    replayed = fields.Boolean(required=True)


class CouponUseIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 1024),
                         metadata={"description": "the member code the customer shows"})
    coupon_code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,20}$"))
    order_no = fields.String(required=True, validate=ORDER_NO)
    amount_fen = fields.Integer(required=True, validate=FEN)


class CouponUseOut(ma.Schema):
    card_no = fields.String(required=True)
    coupon_code = fields.String(required=True)
    text = fields.String(required=True)
    order_no = fields.String(required=True)
    discount_fen = fields.Integer(required=True)
    item = fields.String(allow_none=True, required=True, metadata={
        "description": "an item coupon: what to hand over"})
    replayed = fields.Boolean(required=True)
