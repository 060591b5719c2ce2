"""到店买单's payment, `POST /api/me/store-payments`: a blueprint of its own because it
has a per-member rate limit (`WX_API_PAY_LIMIT`) and the limiter looks only at the
blueprints it names (web/api/limits.py), so the quote asked as the member types
(web/api/store_payments.py) pays nothing for it."""
from __future__ import annotations

from flask import g

from wx_member.extensions import runtime
from wx_member.payments import store_payments
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.errors import NotConfigured
from wx_member.web.api.limits import limiter, pay_limit, per_member
from wx_member.web.api.store_payments import StorePaidOut, StorePaymentIn
from wx_member.web.api.wallet_schemas import IdempotencyHeader

bp = blueprint("store_pay", __name__, "/api", "到店买单: paying a store",
               auth=member_required)


def _wxpay():
    """WeChat Pay's client, or None when it is not configured."""
    rt = runtime()
    return rt.wxpay if rt.wxpay is not None and rt.config.mini_appid else None


@bp.route("/me/store-payments", methods=["POST"])
@bp.alt_response(429, description="too many payments by this member")
@limiter.limit(pay_limit, key_func=per_member)
@bp.arguments(IdempotencyHeader, location="headers")
@bp.arguments(StorePaymentIn)
@bp.response(200, StorePaidOut)
def pay(header, body):
    """Pay a store: from the balance (paid at once; 409 INSUFFICIENT_BALANCE) or by WeChat
    Pay (status created and wx.requestPayment's arguments; then poll GET
    /api/me/store-payments/{no}). Nothing left to pay: paid at once. The same
    Idempotency-Key again answers the payment with `replayed` true. At most
    WX_API_PAY_LIMIT a member (default 10 a minute; replays and refusals count): 429."""
    client = _wxpay()
    if body["pay_with"] == "wechat" and client is None:
        raise NotConfigured("WeChat Pay merchant API or WX_MINI_APPID not configured",
                            user_message="暂不支持微信支付，请使用储值支付。")
    return store_payments.pay(g.db, client, member_id=member_id(), request_key=header["key"],
                              store_code=body["store_code"], amount_fen=body["amount_fen"],
                              pay_with=body["pay_with"], coupon=body.get("coupon"),
                              points=body.get("points"),
                              undiscounted_fen=body.get("undiscounted_fen"),
                              appid=runtime().config.mini_appid,
                              tz=runtime().config.tz)
