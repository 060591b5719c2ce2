"""The base of every error a member or operator can cause, at the bottom layer (beside
models and config) so that wx_member/wechat/ can raise one too.

A domain error says what went wrong in two ways and never how to answer it over HTTP:
`code`, stable and machine-readable (clients branch on it: "COUPON_USED"), and
`user_message`, Chinese, shown to the member or operator as is. Each surface (the JSON
APIs, the console, the webhook, the CLI) maps errors to its own answer in one place; the
JSON status of each code is in wx_member/web/errors.py.

Area errors subclass DomainError in their own modules (or in wx_member/platform/errors.py
when several areas share them), each with its own `code`.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    user_message = "操作失败，请稍后再试。"

    def __init__(self, detail: str = "", user_message: str | None = None):
        # `detail` (English) is for logs; `user_message` overrides the class's Chinese text
        # when the refusal can say more ("积分不足：兑换需要 100 积分，当前 10 积分。").
        super().__init__(detail or self.__class__.__name__)
        if user_message:
            self.user_message = user_message


class WeChatUnavailable(DomainError):
    """WeChat could not do what we asked: unreachable, an error status, or an errcode.
    The gateway raises its subclass GatewayError, which keeps WeChat's errcode for logs."""

    code = "WECHAT_UNAVAILABLE"
    user_message = "微信服务暂时不可用，请稍后再试。"
