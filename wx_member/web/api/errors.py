"""Every answer under /api/ is JSON, errors included: {"code", "message", "errors"?}.

`code` is stable (clients branch on it), `message` is Chinese and may be shown to the
member as is, `errors` holds field-level validation details (English, for developers).
"""
from __future__ import annotations

import logging
import re

import marshmallow as ma
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from wx_member.coupons.wallet import CouponNotFound, CouponRefused
from wx_member.platform.errors import DomainError, InsufficientPoints, InvalidAmount, UnknownMember
from wx_member.loyalty.redemption import (CashOffNotAllowed, OutOfStock, RedemptionConflict,
                                           UnknownGift)

log = logging.getLogger(__name__)
PREFIX = "/api/"

# Errors of shared services that do not carry their own `code` / `http_status`: the first
# class of the error's MRO found here gives the status, and the code unless it is None
# (then the error's class name in upper snake case: CouponUsed → COUPON_USED).
SHARED: dict[type[DomainError], tuple[int, str | None]] = {
    UnknownMember: (404, "NOT_A_MEMBER"),
    InsufficientPoints: (409, "INSUFFICIENT_POINTS"),
    InvalidAmount: (400, "INVALID_AMOUNT"),
    UnknownGift: (404, "GIFT_NOT_FOUND"),
    OutOfStock: (409, "OUT_OF_STOCK"),
    RedemptionConflict: (409, "REDEMPTION_CONFLICT"),
    CashOffNotAllowed: (409, "CASH_OFF_NOT_ALLOWED"),
    CouponNotFound: (404, "COUPON_NOT_FOUND"),
    CouponRefused: (409, None),  # COUPON_USED, COUPON_EXPIRED, BELOW_MINIMUM_SPEND, ...
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
    """The body of every error answer (documents it; flask-smorest's Api.ERROR_SCHEMA)."""

    code = ma.fields.String(required=True, metadata={"description": "stable error code"})
    message = ma.fields.String(required=True, metadata={"description": "Chinese, for the member"})
    errors = ma.fields.Dict(metadata={"description": "validation details by location and field"})


class NotConfigured(DomainError):
    code, http_status = "API_NOT_CONFIGURED", 503
    user_message = "服务暂不可用，请稍后再试。"


def error(status: int, code: str, message: str, errors: dict | None = None, headers=None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status, headers or {}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def domain_error(exc: DomainError):
    status, code = next((SHARED[c] for c in type(exc).__mro__ if c in SHARED), (None, None))
    status = getattr(exc, "http_status", None) or status or 400
    code = getattr(exc, "code", None) or code or _snake(type(exc).__name__)
    log.info("api %s %s: %s %s (%s)", request.method, request.path, status, code, exc)
    return error(status, code, exc.user_message)


def http_error(exc: HTTPException):
    """JSON for /api/ paths (unknown routes included); other surfaces keep Flask's pages."""
    if not request.path.startswith(PREFIX):
        return exc
    status = exc.code or 500
    code, message = HTTP.get(status, ("HTTP_%d" % status, "请求失败。"))
    data = getattr(exc, "data", None) or {}
    details = data.get("messages")  # webargs' validation errors, by location
    headers = dict(exc.get_response().headers) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    headers.pop("Content-Length", None)
    return error(status, code, message, details, headers)

