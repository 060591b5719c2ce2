"""储值充值 inside the mini-program: a WeChat Pay JSAPI order for a rung of the ladder or an
amount, answered with what wx.requestPayment takes; the order's status to poll after
paying; giving up an unpaid order; 付费会员 (paid membership products, bought the same way).
WeChat Pay's notify (or the reconciliation job) credits the balance or the paid tier, once."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from wx_member.extensions import runtime
from wx_member.payments import paid_memberships, wxpay_orders, wxpay_settlement
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.errors import NotConfigured
from wx_member.web.api.schemas import Strict, UtcDateTime
from wx_member.web.api.wallet_schemas import FEN, MAX_ID

bp = blueprint("recharges", __name__, "/api", "Recharges and WeChat Pay orders",
               auth=member_required)


class RechargeIn(Strict):
    option_fen = fields.Integer(validate=FEN, metadata={
        "description": "a rung of GET /api/recharge/options (its amount_fen)"})
    amount_fen = fields.Integer(validate=FEN, metadata={
        "description": "or an amount of your own: 100 (1 yuan) to 50,000,000 fen"})


class PayOrderOut(ma.Schema):
    out_trade_no = fields.String(required=True)
    purpose = fields.String(required=True, metadata={
        "description": "recharge | membership | store_pay (到店买单)"})
    amount_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer(required=True, metadata={
        "description": "fixed when the order is made"})
    status = fields.String(required=True, metadata={
        "description": "created | paid | closed | failed"})
    status_zh = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(required=True, metadata={
        "description": "unpaid by then, the order is closed"})
    paid_at = UtcDateTime(allow_none=True, required=True)


class RequestPaymentOut(ma.Schema):
    """wx.requestPayment's arguments, as they are (its names)."""
    appId = fields.String(required=True)
    timeStamp = fields.String(required=True)
    nonceStr = fields.String(required=True)
    package = fields.String(required=True, metadata={"description": "prepay_id=..."})
    signType = fields.String(required=True, validate=validate.Equal("RSA"))
    paySign = fields.String(required=True)


class CheckoutOut(ma.Schema):
    order = fields.Nested(PayOrderOut, required=True)
    payment = fields.Nested(RequestPaymentOut, required=True)
    reused = fields.Boolean(required=True, metadata={
        "description": "true: the open order of the same rung from the last minute"})


def _client():
    rt = runtime()
    if rt.wxpay is None or not rt.config.mini_appid:
        raise NotConfigured("WeChat Pay merchant API or WX_MINI_APPID not configured",
                            user_message="暂不支持在线充值。")
    return rt.wxpay


@bp.route("/me/recharges", methods=["POST"])
@bp.arguments(RechargeIn)
@bp.response(201, CheckoutOut)
def recharge(body):
    """Start a recharge: a WeChat Pay order (the bonus fixed now) and the arguments of
    wx.requestPayment. Then poll GET /api/me/orders/{out_trade_no}."""
    client = _client()
    return wxpay_orders.start_recharge(g.db, client, member_id=member_id(),
                                       appid=runtime().config.mini_appid,
                                       option_fen=body.get("option_fen"),
                                       amount_fen=body.get("amount_fen"))


@bp.route("/me/orders/<string:out_trade_no>")
@bp.response(200, PayOrderOut)
def order(out_trade_no: str):
    """One of my WeChat Pay orders (404 ORDER_NOT_FOUND for any other)."""
    return wxpay_orders.order_of(g.db, member_id(), out_trade_no)


@bp.route("/me/orders/<string:out_trade_no>/cancel", methods=["POST"])
@bp.response(200, PayOrderOut)
def cancel(out_trade_no: str):
    """Give up paying: the order is closed at WeChat Pay (one paid meanwhile is credited)."""
    return wxpay_settlement.cancel(g.db, _client(), member_id(), out_trade_no,
                                   tz=runtime().config.tz)


class MembershipIn(Strict):
    product_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID), metadata={
        "description": "a product of GET /api/me/memberships"})


class MembershipProductOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    tier = fields.String(required=True)
    tier_zh = fields.String(required=True)
    days = fields.Integer(required=True)
    price_fen = fields.Integer(required=True)


class PaidTierOut(ma.Schema):
    tier = fields.String(required=True)
    tier_zh = fields.String(required=True)
    ends_at = UtcDateTime(required=True, metadata={"description": "the paid tier holds until"})


class MembershipsOut(ma.Schema):
    tier = fields.String(required=True, metadata={
        "description": "the member's tier: the higher of spend and paid tier"})
    tier_zh = fields.String(required=True)
    paid = fields.Nested(PaidTierOut, allow_none=True, required=True)
    products = fields.List(fields.Nested(MembershipProductOut), required=True)


@bp.route("/me/memberships")
@bp.response(200, MembershipsOut)
def memberships():
    """付费会员: the products on sale, my tier, and my paid tier and its end (null: none)."""
    return paid_memberships.status_of(g.db, member_id())


@bp.route("/me/memberships", methods=["POST"])
@bp.arguments(MembershipIn)
@bp.response(201, CheckoutOut)
def buy_membership(body):
    """Buy a paid membership: a WeChat Pay order and wx.requestPayment's arguments; bought
    before the paid tier ends, it extends from that end. Then poll GET /api/me/orders/{no}."""
    client = _client()
    return wxpay_orders.start_membership(g.db, client, member_id=member_id(),
                                         appid=runtime().config.mini_appid,
                                         product_id=body["product_id"])
