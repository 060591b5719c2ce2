"""The one error answer of the JSON surfaces (/api, /shop, /till, and any later one):

    {"code": "COUPON_USED", "message": "优惠券已使用。", "errors": {...}}

`code` is stable (clients branch on it), `message` is Chinese and may be shown as is,
`errors` (only on a validation failure) holds field details by location, in English for
developers. A domain error answers with its own `code` and `user_message` and the status
STATUS gives its code; an HTTP-level failure (unknown path, wrong method, too large)
answers with HTTP's row for its status.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import marshmallow as ma
from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from wx_member.errors import DomainError

log = logging.getLogger(__name__)

# Paths whose every error is JSON; the webhook, WeChat Pay and the console keep their own.
JSON_PREFIXES = ("/api/", "/shop/", "/till/")
# Surfaces with their own HTML error page, by path prefix (the console registers "/admin/"),
# so an unknown URL there is answered in its language rather than Werkzeug's English page.
PAGES: dict[str, Callable[[HTTPException], object]] = {}

DEFAULT_STATUS = 400  # a code not listed: the request was refused as it stands
STATUS: dict[str, int] = {
    # 401: who is calling is not established
    "TOKEN_INVALID": 401, "TOKEN_EXPIRED": 401, "CASHIER_UNAUTHORIZED": 401,
    "TILL_UNAUTHORIZED": 401, "TILL_KEY_REVOKED": 401,
    # 403: who is calling is known, and may not do this
    "STORE_CLOSED": 403, "TILL_WRONG_STORE": 403,
    # 404: what the request names does not exist (for this caller)
    "NOT_A_MEMBER": 404, "COUPON_NOT_FOUND": 404, "GIFT_NOT_FOUND": 404,
    "REDEMPTION_NOT_FOUND": 404, "ORDER_NOT_FOUND": 404, "MEMBER_NOT_IDENTIFIED": 404,
    "STORE_NOT_FOUND": 404, "TILL_KEY_NOT_FOUND": 404,
    # 409: valid, but the state of things refuses it
    "INSUFFICIENT_POINTS": 409, "OUT_OF_STOCK": 409, "REDEMPTION_CONFLICT": 409,
    "CASH_OFF_NOT_ALLOWED": 409, "BIRTHDAY_ALREADY_SET": 409, "WRONG_ORDER_STATE": 409,
    "COUPON_REFUSED": 409, "COUPON_NOT_YOURS": 409, "COUPON_USED": 409, "COUPON_EXPIRED": 409,
    "COUPON_VOID": 409, "COUPON_NOT_YET_VALID": 409, "BELOW_MINIMUM_SPEND": 409,
    "TIER_TOO_LOW": 409, "COUPON_WRONG_STORE": 409, "COUPON_SOLD_OUT": 409,
    # The till's purchases (payments/till_orders.py, till_refunds.py)
    "TILL_ORDER_NOT_FOUND": 404, "TILL_REQUEST_CONFLICT": 409, "MEMBER_CODE_REQUIRED": 403,
    "INSUFFICIENT_BALANCE": 409, "REFUND_REFUSED": 409,
    "SALE_NOT_FOUND": 404, "SALE_OF_ANOTHER_STORE": 403, "SALE_RECORDED": 409,
    # WeChat Pay orders (payments/wxpay_orders.py, wechat/pay_client.py)
    "ORDER_PAID": 409, "ORDER_CLOSED": 409, "UNKNOWN_RECHARGE_OPTION": 404,
    "NO_MINI_OPENID": 409, "PAY_ORDER_NOT_FOUND": 404, "PAY_ORDER_NOT_OPEN": 409,
    "UNKNOWN_MEMBERSHIP_PRODUCT": 404, "MEMBERSHIP_REFUND_REFUSED": 409,
    "WXPAY_UNAVAILABLE": 503,
    # 503: try again later, or an operator must act
    "WECHAT_UNAVAILABLE": 503, "API_NOT_CONFIGURED": 503,
}

HTTP: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "请求格式有误。"),
    401: ("UNAUTHORIZED", "请先登录。"),
    403: ("FORBIDDEN", "无权访问。"),
    404: ("NOT_FOUND", "接口不存在。"),
    405: ("METHOD_NOT_ALLOWED", "请求方法不被支持。"),
    413: ("TOO_LARGE", "请求内容过大。"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "请以 JSON 格式提交。"),
    422: ("VALIDATION_FAILED", "提交的内容有误，请检查后重试。"),
    429: ("RATE_LIMITED", "操作太频繁，请稍后再试。"),
    500: ("INTERNAL_ERROR", "系统繁忙，请稍后再试。"),
    503: ("UNAVAILABLE", "服务暂不可用，请稍后再试。"),
}


class ErrorSchema(ma.Schema):
    """The body of every error answer (documents it in OpenAPI; flask-smorest's ERROR_SCHEMA)."""

    code = ma.fields.String(required=True, metadata={"description": "stable error code"})
    message = ma.fields.String(required=True, metadata={"description": "Chinese, for the member"})
    errors = ma.fields.Dict(metadata={"description": "validation details by location and field"})


def status_of(exc: DomainError) -> int:
    return STATUS.get(exc.code, DEFAULT_STATUS)


def json_error(status: int, code: str, message: str, errors: dict | None = None,
               headers: dict | None = None) -> Response:
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def domain_error(exc: DomainError) -> Response:
    """Flask error handler: a domain error as a JSON answer."""
    status = status_of(exc)
    # WeChat's errcode is in the detail (str(exc)) of a gateway failure: logged, not shown.
    log.log(logging.WARNING if status >= 500 else logging.INFO, "%s %s: %s %s (%s)",
            request.method, request.path, status, exc.code, exc)
    return json_error(status, exc.code, exc.user_message)


def http_error(exc: HTTPException):
    """Flask error handler for the app: JSON under JSON_PREFIXES (unknown routes included);
    other surfaces keep Flask's pages."""
    if not request.path.startswith(JSON_PREFIXES):
        for prefix, page in PAGES.items():
            if request.path.startswith(prefix):
                return page(exc)
        return exc
    status = exc.code or 500
    code, message = HTTP.get(status, ("HTTP_%d" % status, "请求失败。"))
    data = getattr(exc, "data", None) or {}
    details = data.get("messages")  # webargs' validation errors, by location
    headers = dict(exc.get_response().headers) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    headers.pop("Content-Length", None)
    return json_error(status, code, message, details, headers)
