"""Who is calling: a member (Bearer access token from /api/login) or a cashier (the shared
secret `WX_CASHIER_API_KEY` in the X-Cashier-Key header). Used as `before_request` hooks
of the blueprints that need them, so no route can forget its check."""
from __future__ import annotations

import hmac

from flask import g, request

from wx_member.extensions import runtime
from wx_member.platform import access_tokens
from wx_member.platform.access_tokens import TokenInvalid
from wx_member.platform.errors import DomainError
from wx_member.web.api.errors import NotConfigured

CASHIER_HEADER = "X-Cashier-Key"


class CashierRefused(DomainError):
    code = "CASHIER_UNAUTHORIZED"
    user_message = "收银台密钥无效。"


def secret_key() -> str:
    key = runtime().config.secret_key
    if not key:
        raise NotConfigured("WX_MEMBER_SECRET_KEY is not set")
    return key


def member_required() -> None:
    """before_request: the member named by a valid, unexpired access token → g.member_id."""
    if request.method == "OPTIONS":
        return
    key = secret_key()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("no bearer token", user_message="请先登录。")
    g.member_id = access_tokens.member_id_from(key, token.strip())


def cashier_required() -> None:
    expected = runtime().config.cashier_api_key
    if not expected:
        raise NotConfigured("WX_CASHIER_API_KEY is not set")
    given = request.headers.get(CASHIER_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CashierRefused("bad cashier key")
