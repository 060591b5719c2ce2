"""Request and response shapes of /till/v1/quote, /orders and their refunds. They check
types (integers are integers: 12.5 or "100" is refused, 422); ranges, formats and sums are
the use case's (payments/basket.py: 400 INVALID_BASKET / PAYMENTS_DO_NOT_ADD_UP, in
Chinese), so a till meets the same rules whichever way it calls."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from wx_member.web.api.schemas import Strict
from wx_member.web.till.schemas import STORE_CODE, IdentifyIn

INT = {"strict": True}


class LineIn(Strict):
    sku = fields.String(required=True, metadata={"description": "letters, digits, . _ -; 1-40"})
    name = fields.String(required=True)
    category = fields.String(required=True, metadata={"description": "e.g. 拿铁"})
    quantity = fields.Integer(required=True, **INT)
    unit_price_fen = fields.Integer(required=True, **INT, metadata={"description": "list price"})


class PartIn(Strict):
    method = fields.String(required=True, metadata={
        "description": "wechat | alipay | cash | card | balance (stored value)"})
    amount_fen = fields.Integer(required=True, **INT)
    out_trade_no = fields.String(metadata={"description": "wechat only: the WeChat Pay "
                                           "order, credited once with its notify"})
    transaction_id = fields.String(metadata={"description": "wechat only"})


class MemberIn(IdentifyIn):
    """Who buys: exactly one of code (the member code: also their consent to spend
    coupons, points and stored value), card_no, or phone with card_last4."""


class QuoteIn(Strict):
    member = fields.Nested(MemberIn, metadata={"description": "absent: a walk-in"})
    lines = fields.List(fields.Nested(LineIn), required=True)
    coupons = fields.List(fields.String(), metadata={"description": "coupon codes, applied in order"})
    points = fields.Integer(**INT, metadata={"description": "points to take as cash off"})
    at = fields.String(metadata={"description": "the till's time, ISO 8601 (no offset: the "
                                 "programme's zone); default now; at most 7 days back"})
    store_code = STORE_CODE


class OrderIn(QuoteIn):
    order_no = fields.String(required=True, metadata={
        "description": "the till's number, per store: the idempotency key"})
    payments = fields.List(fields.Nested(PartIn), required=True, metadata={
        "description": "must add up to the payable total; empty when coupons and points "
                       "pay it all (payable 0)"})


class RefundLineIn(Strict):
    sku = fields.String(required=True)
    quantity = fields.Integer(required=True, **INT)


class RefundIn(Strict):
    """`lines` or `amount_fen`, not both."""
    refund_no = fields.String(required=True, metadata={"description": "idempotency key, per store"})
    lines = fields.List(fields.Nested(RefundLineIn))
    amount_fen = fields.Integer(**INT)
    store_code = STORE_CODE


class PricedLineOut(ma.Schema):
    sku = fields.String()
    name = fields.String()
    category = fields.String()
    quantity = fields.Integer()
    unit_price_fen = fields.Integer()
    list_fen = fields.Integer()
    amount_fen = fields.Integer(metadata={"description": "after the line's one benefit"})
    saving_fen = fields.Integer()
    benefit = fields.String(allow_none=True, metadata={
        "description": "member_price | member_day | tier | null"})
    benefit_detail = fields.String(allow_none=True)


class QuoteOut(ma.Schema):
    member = fields.Dict(allow_none=True)
    lines = fields.List(fields.Nested(PricedLineOut))
    list_fen = fields.Integer()
    lines_fen = fields.Integer()
    coupons = fields.List(fields.Dict(), metadata={"description": "applied: code, amount "
                                                   "before it, saving"})
    usable_coupons = fields.List(fields.Dict(), metadata={"description": "the member's "
                                                          "coupons usable here, each with its saving"})
    points_max = fields.Dict(metadata={"description": "the most points usable as cash off"})
    points_used = fields.Dict()
    payable_fen = fields.Integer()
    points_to_earn = fields.Integer()
    points_multiplier = fields.Integer()
    rounding = fields.Dict(metadata={"description": "how each figure was rounded"})


class OrderOut(ma.Schema):
    order_no = fields.String()
    store_id = fields.Integer(allow_none=True)
    payable_fen = fields.Integer()
    credited_fen = fields.Integer(metadata={"description": "money this order credited "
                                            "(less WeChat parts a notify credited first)"})
    lines_fen = fields.Integer()
    lines = fields.List(fields.Nested(PricedLineOut))
    coupons = fields.List(fields.Dict())
    points_used = fields.Dict()
    points_earned = fields.Integer()
    points_balance = fields.Integer(allow_none=True)
    tier = fields.String(allow_none=True)
    tier_name = fields.String(allow_none=True)
    balance_fen = fields.Integer(allow_none=True, metadata={"description": "stored value after"})
    replayed = fields.Boolean(metadata={"description": "true: the first answer again"})


class RefundOut(ma.Schema):
    order_no = fields.String()
    refund_no = fields.String()
    amount_fen = fields.Integer()
    order_status = fields.String()
    balance_back_fen = fields.Integer()
    points_reversed = fields.Integer()
    points_restored = fields.Integer(metadata={"description": "cash-off points back (full refund)"})
    points_balance = fields.Integer(allow_none=True)
    tier = fields.String(allow_none=True)
    tier_name = fields.String(allow_none=True)
    balance_fen = fields.Integer(allow_none=True)
    replayed = fields.Boolean()
