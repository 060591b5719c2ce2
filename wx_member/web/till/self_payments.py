"""/till/v1/self-payments: this store's 到店买单 payments (members paying the store from the
mini-program), newest first, so the cashier can confirm the payment a member shows."""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from flask import g
from marshmallow import RAISE, fields, validate

from wx_member.payments import store_payments_view
from wx_member.web.api.schemas import UtcDateTime
from wx_member.web.till.common import TILL_SECURITY, blueprint, store_id

bp = blueprint("till_self_payments", __name__, "", "Till: 到店买单 payments at this store")


class SelfPaymentsQuery(ma.Schema):
    since = fields.AwareDateTime(default_timezone=timezone.utc, metadata={
        "description": "paid at or after (ISO 8601; default: the last 24 hours)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, store_payments_view.MOST))


class SelfPaymentOut(ma.Schema):
    out_trade_no = fields.String(required=True, metadata={
        "description": "the number the member's result page shows"})
    card_no = fields.String(required=True, metadata={"description": "masked, e.g. 800****126"})
    amount_fen = fields.Integer(required=True, metadata={"description": "what was typed"})
    undiscounted_fen = fields.Integer(required=True, metadata={
        "description": "of which 不参与优惠金额: no benefit, coupon or points on it"})
    payable_fen = fields.Integer(required=True, metadata={
        "description": "what was paid after benefits, coupon and points"})
    pay_with = fields.String(required=True, metadata={"description": "balance | wechat"})
    paid_at = UtcDateTime(required=True)


class SelfPaymentsOut(ma.Schema):
    payments = fields.List(fields.Nested(SelfPaymentOut), required=True)


@bp.route("/self-payments")
@bp.doc(security=TILL_SECURITY)
@bp.arguments(SelfPaymentsQuery, location="query", unknown=RAISE)
@bp.response(200, SelfPaymentsOut)
def self_payments(query):
    """This store's paid 到店买单 payments since `since`, newest first."""
    since = query.get("since")
    if since is not None:  # stored naive UTC
        since = since.astimezone(timezone.utc).replace(tzinfo=None)
    return {"payments": store_payments_view.paid_at_store(g.db, store_id(), since,
                                                          query["limit"])}
