"""The gateway's HTTP session (urllib3 under requests' interface) answers and fails exactly
as requests would: the sender's rules (resend, not resend) depend on which error it is."""
from __future__ import annotations

import socket

import pytest
import requests

from conftest import APPID, SECRET
from wx_member.config import Config
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway
from wx_member.wechat.http import PooledSession

SEND = "cgi-bin/message/custom/send"


def gateway(api_base: str, timeout: float = 5.0) -> WeChatGateway:
    return WeChatGateway(Config(appid=APPID, secret=SECRET, api_base=api_base,
                                mp_base=api_base), timeout=timeout)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


def test_sends_reach_wechat_over_one_kept_alive_connection(sandbox):
    sandbox.interact("oHttp")  # inside the 48-hour window
    gw = gateway(sandbox.url)
    for n in range(5):
        gw.send_text("oHttp", f"第{n}条")
    assert [m["request"]["text"]["content"] for m in sandbox.sent("custom")] == [
        f"第{n}条" for n in range(5)]
    assert gw.http._pool.connection_from_url(sandbox.url).num_connections == 1  # the token fetch and five sends on one socket


def test_refused_connection_is_known_not_sent():
    with pytest.raises(GatewayError) as caught:
        gateway(f"http://127.0.0.1:{closed_port()}/").send_text("oHttp", "你好")
    assert caught.value.errcode is None and caught.value.maybe_sent is False


def test_read_timeout_may_have_reached_wechat(sandbox):
    sandbox.interact("oHttp")  # inside the 48-hour window
    gw = gateway(sandbox.url, timeout=0.3)
    gw.send_text("oHttp", "先取令牌")  # the token fetch is not the slow call
    sandbox.inject(SEND, delay=1.0)
    with pytest.raises(GatewayError) as caught:
        gw.send_text("oHttp", "慢")
    assert caught.value.maybe_sent is True
    assert isinstance(caught.value.__cause__, requests.ReadTimeout)


def test_http_error_status_and_wechat_errcode(sandbox):
    gw = gateway(sandbox.url)
    sandbox.inject(SEND, http_status=502)
    with pytest.raises(GatewayError) as caught:
        gw.send_text("oHttp", "你好")
    assert (caught.value.errcode, caught.value.http_status) == (None, 502)
    with pytest.raises(GatewayError) as caught:  # never wrote to us: WeChat's own refusal
        gw.send_text("oNobody", "你好")
    assert caught.value.errcode == 45015


def test_calls_it_does_not_shortcut_go_through_requests(sandbox):
    http = PooledSession()
    token = http.get(sandbox.url + "cgi-bin/token", params={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
    sandbox.interact("oHttp")  # inside the 48-hour window
    res = http.post(sandbox.url + SEND, params={"access_token": token["access_token"]},
                    json={"touser": "oHttp", "msgtype": "text", "text": {"content": "JSON"}})
    assert res.json()["errcode"] == 0 and res.request is not None  # requests' own Response
    assert sandbox.sent("custom")[-1]["request"]["text"]["content"] == "JSON"
