"""/shop/...: the shop system tells us an order was shipped or delivered. JSON in and out.

    POST /shop/orders/<out_trade_no>/shipped     {"carrier": "顺丰速运", "tracking_no": "SF…"}
    POST /shop/orders/<out_trade_no>/delivered   (no body)

Authenticated by `Authorization: Bearer <WX_SHOP_API_KEY>` (compared in constant time);
401 without it, 503 when the key is not configured. 404 unknown order, 409 a state the
order is not in (delivered before shipped, another tracking number, refunded), 400 bad
input. Both calls are idempotent: a repeat answers 200 with "changed": false.
"""
from __future__ import annotations

import hmac
import logging
from datetime import datetime

from flask import Blueprint, g, jsonify, request

from wx_member.extensions import runtime
from wx_member.payments import fulfilment
from wx_member.platform.errors import DomainError

log = logging.getLogger(__name__)
bp = Blueprint("shop", __name__, url_prefix="/shop")

_STATUS = {fulfilment.OrderNotFound: (404, "order_not_found"),
           fulfilment.WrongOrderState: (409, "wrong_state"),
           fulfilment.InvalidShipment: (400, "invalid_input")}
FIELDS = {"carrier", "tracking_no"}


def error(status: int, code: str, message: str):
    response = jsonify(error=code, message=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="shop"'
    return response


@bp.before_request
def _authenticate():
    key = runtime().config.shop_api_key
    if not key:
        log.error("shop API called, but WX_SHOP_API_KEY is not set")
        return error(503, "not_configured", "接口未配置。")
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             key.encode()):
        log.warning("shop API: refused credentials from %s", request.remote_addr)
        return error(401, "unauthorized", "身份验证失败。")
    if (request.content_length or 0) > runtime().config.max_body_bytes:
        return error(413, "too_large", "请求内容过大。")
    return None


def _body() -> dict:
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise fulfilment.InvalidShipment("the body must be a JSON object",
                                          user_message="请求体必须是 JSON 对象。")
    unknown = set(body) - FIELDS
    if unknown:
        raise fulfilment.InvalidShipment(f"unknown field(s) {sorted(unknown)}",
                                          user_message=f"未知字段：{', '.join(sorted(unknown))}")
    return body


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _answer(result: fulfilment.FulfilmentResult):
    o = result.order
    return jsonify(out_trade_no=o.out_trade_no, shipped_at=_iso(o.shipped_at),
                   delivered_at=_iso(o.delivered_at), carrier=o.carrier,
                   tracking_no=o.tracking_no, changed=result.changed, reminder=result.reminder)


def _refused(exc: DomainError):
    status, code = _STATUS.get(type(exc), (400, "rejected"))
    log.info("shop API refused: %s", exc)
    return error(status, code, exc.user_message)


@bp.post("/orders/<out_trade_no>/shipped")
def shipped(out_trade_no: str):
    rt = runtime()
    try:
        body = _body()
        result = fulfilment.mark_shipped(g.db, rt.pushes, rt.config, out_trade_no,
                                         carrier=body.get("carrier"),
                                         tracking_no=body.get("tracking_no"))
    except DomainError as exc:
        return _refused(exc)
    return _answer(result)


@bp.post("/orders/<out_trade_no>/delivered")
def delivered(out_trade_no: str):
    try:
        result = fulfilment.mark_delivered(g.db, out_trade_no)
    except DomainError as exc:
        return _refused(exc)
    return _answer(result)
