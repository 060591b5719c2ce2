"""Beneath the gateway (wechat/gateway.py): wechatpy's client with every host taken from
configuration, and GatewayError, the one exception a call to WeChat leaves with.

wechatpy 1.8.18 hard-codes the token host and the `wxa` base URL, and its `auto_retry`
recurses without a bound on a persistent 40001; `_Client` fixes the hosts and fetches the
token (through a shared store when there is one), and the gateway refreshes the token once
on TOKEN_ERRORS (40001/40014/42001) and retries the call once.

Every failure to get WeChat's answer (an errcode, an HTTP error status, no connection, a
token that cannot be refreshed) leaves as a GatewayError: a domain error (WeChatUnavailable,
"微信服务暂时不可用，请稍后再试。") that keeps WeChat's errcode for logs and the push sender.
Neither wechatpy's nor requests' exceptions reach a caller.
"""
from __future__ import annotations

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from wx_member.errors import WeChatUnavailable

TOKEN_ERRORS = {40001, 40014, 42001}


class GatewayError(WeChatUnavailable):
    """WeChat answered an errcode (or no usable answer: errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str, http_status: int | None = None,
                 maybe_sent: bool = False, data: dict | None = None):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.data = data or {}  # WeChat's whole answer (45065 carries the earlier msg_id)
        self.errcode = errcode
        self.errmsg = errmsg
        # WeChat's HTTP error status instead of a JSON answer (for logs and the sender;
        # what our surfaces answer is theirs to decide, see wx_member/web/errors.py).
        self.http_status = http_status
        # The request may have reached WeChat (a read timeout, a dropped connection): a
        # message must not be sent again, it may have been delivered.
        self.maybe_sent = maybe_sent


def _failure(exc: Exception, maybe_sent: bool = False) -> GatewayError:
    """The GatewayError for what wechatpy, requests or the token store raised."""
    if isinstance(exc, WeChatClientException):
        status = exc.response.status_code if exc.response is not None else None
        try:
            data = exc.response.json() if exc.response is not None else None
        except ValueError:
            data = None
        return GatewayError(exc.errcode, str(exc.errmsg), http_status=status,
                            data=data if isinstance(data, dict) else None)
    return GatewayError(None, f"{type(exc).__name__}: {exc}", maybe_sent=maybe_sent)


def _not_sent(exc: requests.RequestException) -> bool:
    """Failures that certainly happened before WeChat got the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text)


class _Client(WeChatClient):
    """wechatpy's client with every host taken from configuration."""

    def __init__(self, api_base: str, appid: str, secret: str, storage: SessionStorage,
                 http: requests.Session, timeout: float):
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base + "cgi-bin/"
        self._api_base = api_base
        self._http = http

    def fetch_access_token(self):
        return self.refresh_token()

    def refresh_token(self, rejected: str | None = None):
        refresh = getattr(self.session, "refresh", None)
        if refresh is not None:  # a shared store: one process fetches, the others wait
            return refresh(self.access_token_key, self._fetch_token, rejected)
        return self._fetch_token()

    def _fetch_token(self):
        return self._fetch_access_token(
            url=self._api_base + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
