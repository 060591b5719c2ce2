"""/shop/...: the shop system tells us an order was shipped or delivered. JSON in and out.

    POST /shop/orders/<out_trade_no>/shipped     {"carrier": "顺丰速运", "tracking_no": "SF…"}
    POST /shop/orders/<out_trade_no>/delivered   (no body)

Authenticated by `Authorization: Bearer <WX_SHOP_API_KEY>` (compared in constant time);
401 UNAUTHORIZED without it, 503 SHOP_NOT_CONFIGURED when the key is not configured.
404 ORDER_NOT_FOUND, 409 WRONG_ORDER_STATE (delivered before shipped, another tracking
number, refunded), 400 INVALID_SHIPMENT. Both calls are idempotent: a repeat answers 200
with "changed": false. Errors are the JSON surfaces' one shape (wx_member/web/errors.py):
{"code", "message"}; domain errors are mapped by the blueprint's one handler below.
"""
from __future__ import annotations

import hmac
import logging
from datetime import datetime

from flask import Blueprint, g, jsonify, request

from wx_member.extensions import runtime
from wx_member.pushes import fulfilment
from wx_member.platform.errors import DomainError
from wx_member.web.errors import domain_error, json_error

log = logging.getLogger(__name__)
bp = Blueprint("shop", __name__, url_prefix="/shop")
bp.register_error_handler(DomainError, domain_error)  # /shop's one mapping

FIELDS = {"carrier", "tracking_no"}


@bp.before_request
def _authenticate():
    key = runtime().config.shop_api_key
    if not key:
        log.error("shop API called, but WX_SHOP_API_KEY is not set")
        return json_error(503, "SHOP_NOT_CONFIGURED", "接口未配置。")
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             key.encode()):
        log.warning("shop API: refused credentials from %s", request.remote_addr)
        return json_error(401, "UNAUTHORIZED", "身份验证失败。",
                          headers={"WWW-Authenticate": 'Bearer realm="shop"'})
    if (request.content_length or 0) > runtime().config.max_body_bytes:
        return json_error(413, "TOO_LARGE", "请求内容过大。")
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


@bp.post("/orders/<out_trade_no>/shipped")
def shipped(out_trade_no: str):
    rt = runtime()
    body = _body()
    result = fulfilment.mark_shipped(g.db, rt.pushes, rt.config, out_trade_no,
                                     carrier=body.get("carrier"),
                                     tracking_no=body.get("tracking_no"))
    return _answer(result)


@bp.post("/orders/<out_trade_no>/delivered")
def delivered(out_trade_no: str):
    return _answer(fulfilment.mark_delivered(g.db, out_trade_no))
