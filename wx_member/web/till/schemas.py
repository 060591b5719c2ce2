"""Request and response shapes of /till/v1 (marshmallow; they validate input and generate
the OpenAPI document). Conventions as /api's: UTC instants with their zone, money in fen,
whole points; unknown fields are refused (422)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from wx_member.web.api.schemas import Strict
from wx_member.web.api.wallet_schemas import ORDER_NO, CashOffIn, CouponUseIn

STORE_CODE = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_\-]{1,20}$"), metadata={
    "description": "optional: the store the till believes it is in; a key of another "
                   "store is refused (403 TILL_WRONG_STORE)"})


class StoreOut(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    key_id = fields.Integer(required=True, metadata={"description": "the calling key's id"})


class IdentifyIn(Strict):
    """Exactly one means: `code`, `card_no`, or `phone` with `card_last4`."""
    code = fields.String(validate=validate.Length(1, 1024), metadata={
        "description": "the dynamic member code the customer shows (mini-program)"})
    card_no = fields.String(validate=validate.Regexp(r"^\d{6,20}$"), metadata={
        "description": "the member's card number"})
    phone = fields.String(validate=validate.Regexp(r"^\+?\d{5,20}$"), metadata={
        "description": "the member's phone number; needs card_last4"})
    card_last4 = fields.String(validate=validate.Regexp(r"^\d{4}$"), metadata={
        "description": "the last 4 digits of the card number, with phone"})
    store_code = STORE_CODE

    @ma.validates_schema
    def _one_means(self, data, **_kwargs):
        means = [k for k in ("code", "card_no", "phone") if data.get(k)]
        if len(means) != 1:
            raise ma.ValidationError("give exactly one of code, card_no, phone")
        if data.get("phone") and not data.get("card_last4"):
            raise ma.ValidationError("phone needs card_last4", "card_last4")
        if data.get("card_last4") and not data.get("phone"):
            raise ma.ValidationError("card_last4 goes with phone", "card_last4")


class IdentifiedOut(ma.Schema):
    card_no = fields.String(required=True)
    tier = fields.String(required=True)
    tier_name = fields.String(required=True)
    points = fields.Integer(required=True)
    balance_fen = fields.Integer(required=True, metadata={"description": "stored value (储值)"})
    phone = fields.String(allow_none=True, required=True, metadata={
        "description": "masked, e.g. 138****5678"})
    home_store = fields.String(allow_none=True, required=True, metadata={
        "description": "the member's home store (归属门店) code"})
    home_store_name = fields.String(allow_none=True, required=True)
    means = fields.String(required=True, metadata={"description": "code | card | phone"})
    can_spend = fields.Boolean(required=True, metadata={
        "description": "true only when identified by the member code: the customer's "
                       "consent to spend points, coupons or stored value"})


class TillCashOffIn(CashOffIn):
    store_code = STORE_CODE


class TillCouponUseIn(CouponUseIn):
    store_code = STORE_CODE


class SaleCancelIn(Strict):
    order_no = fields.String(required=True, validate=ORDER_NO, metadata={
        "description": "the sale's number, as given to /cash-off and /coupons/redeem"})
    reason = fields.String(required=True, validate=validate.Length(1, 100), metadata={
        "description": "why, kept on the ledger row, e.g. 顾客取消"})
    store_code = STORE_CODE


class CouponBackOut(ma.Schema):
    coupon_code = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "available, or expired when its last day passed meanwhile"})


class SaleCancelOut(ma.Schema):
    order_no = fields.String(required=True)
    card_no = fields.String(required=True)
    points_back = fields.Integer(required=True, metadata={
        "description": "the cash-off's points given back (0: none)"})
    points_balance = fields.Integer(required=True, metadata={
        "description": "the member's points after the (first) cancel"})
    coupons = fields.List(fields.Nested(CouponBackOut), required=True)
    replayed = fields.Boolean(required=True, metadata={
        "description": "cancelled before: this is the first answer, nothing changed"})
