"""The WeChat sandbox and the simulator on their own, over real HTTP on loopback: they must
answer and call exactly as WeChat does, or every other test proves nothing."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from click.testing import CliRunner
from flask import Flask, Response, request
from wechatpy import WeChatClient, create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException
from wechatpy.utils import check_signature
from werkzeug.serving import make_server

from wx_member.sandbox import Sandbox, SandboxClient, Simulator
from wx_member.sandbox.client import SandboxError
from wx_member.sandbox.commands import simulate_group
from wx_member.sandbox.simulator import ReplyError

APPID, SECRET = "wxsbtest0001", "sb-secret"
MINI_APPID, MINI_SECRET = "wxmini0001", "mini-secret"
TOKEN = "hooktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEMPLATE = "cgi-bin/message/template/send"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(appid=APPID, secret=SECRET, mini_appid=MINI_APPID,
                 mini_secret=MINI_SECRET) as sandbox:
        yield sandbox


def call(sb: Sandbox, path: str, token: str | None = None, body: dict | None = None,
         **params: str) -> dict:
    """GET, or POST when there is a body; WeChat answers errors as HTTP 200 JSON."""
    if token is not None:
        params["access_token"] = token
    res = requests.request("POST" if body is not None else "GET", sb.url + path,
                           params=params, json=body, timeout=5)
    assert res.status_code == 200
    assert res.headers["Content-Type"] == "application/json; charset=utf-8"
    return res.json()


def fetch_token(sb: Sandbox, appid: str = APPID, secret: str = SECRET) -> str:
    return call(sb, "cgi-bin/token", grant_type="client_credential", appid=appid,
                secret=secret)["access_token"]


def errcode(answer: dict) -> int:
    return answer.get("errcode", 0)


@pytest.fixture
def token(sb: Sandbox) -> str:
    return fetch_token(sb)


def template(openid: str = "oUser1", **extra) -> dict:
    return {"touser": openid, "template_id": "TPL_POINTS",
            "data": {"points": {"value": "10"}}} | extra


# -- access tokens ------------------------------------------------------------------------
def test_token_is_issued_only_for_the_right_credentials(sb):
    answer = call(sb, "cgi-bin/token", grant_type="client_credential", appid=APPID, secret=SECRET)
    assert answer["expires_in"] == 7200 and len(answer["access_token"]) > 64
    ok = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    assert errcode(call(sb, "cgi-bin/token", **ok | {"secret": "wrong"})) == 40125
    assert errcode(call(sb, "cgi-bin/token", **ok | {"appid": "wxother"})) == 40013
    assert errcode(call(sb, "cgi-bin/token", **ok | {"grant_type": "password"})) == 40002
    assert sb.token_fetches == 1


def test_api_calls_need_a_current_token(sb):
    first, second = fetch_token(sb), fetch_token(sb)
    assert errcode(call(sb, "cgi-bin/menu/delete")) == 41001
    assert errcode(call(sb, "cgi-bin/menu/delete", token="forged")) == 40001
    assert errcode(call(sb, "cgi-bin/menu/delete", token=first)) == 0  # the overlap window
    third = fetch_token(sb)
    assert errcode(call(sb, "cgi-bin/menu/delete", token=first)) == 40001  # retired
    sb.expire_tokens()
    assert errcode(call(sb, "cgi-bin/menu/delete", token=second)) == 42001
    assert errcode(call(sb, "cgi-bin/menu/delete", token=third)) == 42001
    assert errcode(call(sb, "cgi-bin/menu/delete", token=fetch_token(sb))) == 0


def test_wrong_http_method_and_unknown_api(sb, token):
    res = requests.get(sb.url + "cgi-bin/menu/create", params={"access_token": token})
    assert res.json()["errcode"] == 43002
    assert requests.get(sb.url + "cgi-bin/nothing-here").status_code == 404


class SandboxWeChatClient(WeChatClient):
    """wechatpy hard-codes the token URL; the app's gateway does the same override."""

    def __init__(self, base: str):
        super().__init__(APPID, SECRET, auto_retry=True)
        self.API_BASE_URL = base + "cgi-bin/"
        self._base = base

    def fetch_access_token(self):
        return self._fetch_access_token(self._base + "cgi-bin/token", {
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET})


def test_wechatpy_client_works_against_the_sandbox(sb):
    client = SandboxWeChatClient(sb.url)
    menu = {"button": [{"type": "click", "name": "签到", "key": "CHECKIN"}]}
    client.menu.create(menu)
    assert client.menu.get() == {"menu": menu}
    sb.expire_tokens()  # wechatpy refetches once on 42001 and retries
    msgid = client.message.send_template("oUser1", "TPL", {"k": {"value": "v"}})["msgid"]
    assert sb.token_fetches == 2 and sb.sent("template")[0]["msgid"] == msgid
    with pytest.raises(WeChatClientException) as err:
        client.menu.create({"button": []})
    assert err.value.errcode == 40016


# -- QR codes -----------------------------------------------------------------------------
def test_temporary_and_permanent_qrcodes_and_their_images(sb, token):
    temp = call(sb, "cgi-bin/qrcode/create", token, {
        "expire_seconds": 2_592_000, "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "store_01"}}})
    assert temp["expire_seconds"] == 2_592_000 and temp["url"].startswith("http://weixin.qq.com/q/")
    short = call(sb, "cgi-bin/qrcode/create", token, {
        "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}})
    assert short["expire_seconds"] == 60  # WeChat's default
    perm = call(sb, "cgi-bin/qrcode/create", token, {
        "action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_000}}})
    assert "expire_seconds" not in perm
    assert sb.qrcodes[temp["ticket"]]["scene"] == "store_01"
    assert sb.qrcodes[perm["ticket"]]["permanent"] is True
    assert [q["request"]["action_name"] for q in sb.sent("qrcode")] == [
        "QR_STR_SCENE", "QR_SCENE", "QR_LIMIT_SCENE"]
    image = requests.get(sb.url + "cgi-bin/showqrcode", params={"ticket": temp["ticket"]})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert image.headers["Content-Type"] == "image/png"
    assert requests.get(sb.url + "cgi-bin/showqrcode", params={"ticket": "nope"}).status_code == 404


@pytest.mark.parametrize("body", [
    {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}},
    {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}},
    {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}},
    {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 0}}},
    {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_str": "a"}}},
    {"action_name": "QR_SCENE", "expire_seconds": 2_592_001,
     "action_info": {"scene": {"scene_id": 1}}},
    {"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_id": 1}}},
])
def test_invalid_qrcode_requests_are_refused(sb, token, body):
    answer = call(sb, "cgi-bin/qrcode/create", token, body)
    assert answer["errcode"] == 40053 and answer["errmsg"]
    assert sb.sent("qrcode") == [] and sb.qrcodes == {}


# -- menu ---------------------------------------------------------------------------------
MENU = {"button": [
    {"type": "click", "name": "会员卡", "key": "CARD"},
    {"name": "我的", "sub_button": [
        {"type": "view", "name": "官网", "url": "https://example.com/"},
        {"type": "miniprogram", "name": "小程序", "url": "https://example.com/",
         "appid": MINI_APPID, "pagepath": "pages/index"}]},
]}


def test_menu_create_get_delete(sb, token):
    assert errcode(call(sb, "cgi-bin/menu/get", token)) == 46003
    assert call(sb, "cgi-bin/menu/create", token, MENU) == {"errcode": 0, "errmsg": "ok"}
    assert call(sb, "cgi-bin/menu/get", token) == {"menu": MENU} and sb.menu == MENU
    assert errcode(call(sb, "cgi-bin/menu/delete", token)) == 0
    assert errcode(call(sb, "cgi-bin/menu/get", token)) == 46003 and sb.menu is None


def click(name: str = "签到", key: str = "K") -> dict:
    return {"type": "click", "name": name, "key": key}


@pytest.mark.parametrize("buttons, code", [
    ([click("会员卡会员卡")], 40018),  # 18 bytes of UTF-8 > 16
    ([click()] * 4, 40016),
    ([], 40016),
    ([{"name": "我的", "sub_button": [click()] * 6}], 40023),
    ([{"name": "我的", "sub_button": [click("长" * 21)]}], 40025),  # 63 bytes > 60
    ([{"type": "tap", "name": "x", "key": "K"}], 40017),
    ([click(key="K" * 129)], 40019),
    ([{"type": "view", "name": "官网"}], 47001),
    ([{"type": "miniprogram", "name": "小程序", "url": "https://e.com/", "appid": "wx1"}], 47001),
])
def test_invalid_menus_are_refused(sb, token, buttons, code):
    assert errcode(call(sb, "cgi-bin/menu/create", token, {"button": buttons})) == code
    assert sb.menu is None


# -- messages -----------------------------------------------------------------------------
def test_template_send_is_recorded_and_needs_a_follower(sb, token):
    answer = call(sb, TEMPLATE, token, template(url="https://e.com/"))
    assert answer["errcode"] == 0 and isinstance(answer["msgid"], int)
    [sent] = sb.sent("template")
    assert sent["msgid"] == answer["msgid"] and sent["request"] == template(url="https://e.com/")
    assert abs(sent["at"] - time.time()) < 5 and sb.sent("custom") == []
    sb.unfollow("oGone")
    assert call(sb, TEMPLATE, token, template("oGone"))["errcode"] == 43004
    sb.follow("oGone")
    assert call(sb, TEMPLATE, token, template("oGone"))["errcode"] == 0
    assert call(sb, TEMPLATE, token, template(data={}))["errcode"] == 47003
    assert call(sb, TEMPLATE, token, template(template_id=""))["errcode"] == 40037
    sb.clear()
    assert sb.sent() == []


def test_configured_templates_refuse_unknown_ids():
    with Sandbox(appid=APPID, secret=SECRET, templates=["TPL_POINTS"]) as sb:
        token = fetch_token(sb)
        assert call(sb, TEMPLATE, token, template())["errcode"] == 0
        assert call(sb, TEMPLATE, token, template(template_id="TPL_OTHER"))["errcode"] == 40037


def test_injected_errcode_then_success(sb, token):
    sb.inject(TEMPLATE, errcode=45009)
    assert call(sb, TEMPLATE, token, template()) == {
        "errcode": 45009, "errmsg": "reach max api daily quota limit"}
    assert call(sb, TEMPLATE, token, template())["errcode"] == 0
    assert len(sb.sent("template")) == 1


def test_injected_http_status_and_delay(sb, token):
    sb.inject("/" + TEMPLATE, http_status=503, times=2)
    for _ in range(2):
        res = requests.post(sb.url + TEMPLATE, params={"access_token": token}, json=template())
        assert res.status_code == 503
    sb.inject(TEMPLATE, delay=0.3)
    started = time.monotonic()
    assert call(sb, TEMPLATE, token, template())["errcode"] == 0
    assert time.monotonic() - started >= 0.3


def test_quota_answers_45009_after_the_limit(sb, token):
    sb.quota(TEMPLATE, 2)
    codes = [call(sb, TEMPLATE, token, template())["errcode"] for _ in range(3)]
    assert codes == [0, 0, 45009]


def test_concurrent_sends_are_all_answered_and_recorded(sb, token):
    def send(i: int) -> list[int]:
        with requests.Session() as http:  # keep-alive, as the app's gateway does
            return [http.post(sb.url + TEMPLATE, params={"access_token": token},
                              json=template(f"o{i}")).json()["msgid"] for _ in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        msgids = [m for batch in pool.map(send, range(8)) for m in batch]
    assert len(set(msgids)) == 200 and len(sb.sent("template")) == 200
    assert sb.stats()["sent"] == {"template": 200}


def test_subscribe_message_consumes_one_grant_each(sb, token):
    body = {"touser": "oMini", "template_id": "SUB_1", "page": "pages/index",
            "data": {"thing1": {"value": "积分到账"}}}
    path = "cgi-bin/message/subscribe/send"
    assert call(sb, path, token, body)["errcode"] == 43101
    sb.grant_subscribe("oMini", "SUB_1")
    assert call(sb, path, token, body)["errcode"] == 0
    assert call(sb, path, token, body)["errcode"] == 43101
    assert [s["request"]["touser"] for s in sb.sent("subscribe")] == ["oMini"]


def test_custom_message_only_within_48_hours_of_the_last_interaction(sb, token):
    path = "cgi-bin/message/custom/send"
    text = {"touser": "oChat", "msgtype": "text", "text": {"content": "你好"}}
    assert call(sb, path, token, text)["errcode"] == 45015  # never wrote to us
    sb.interact("oChat", at=time.time() - 49 * 3600)
    assert call(sb, path, token, text)["errcode"] == 45015
    sb.interact("oChat")
    assert call(sb, path, token, text)["errcode"] == 0
    news = {"touser": "oChat", "msgtype": "news", "news": {"articles": [{"title": "t"}]}}
    assert call(sb, path, token, news)["errcode"] == 0
    assert call(sb, path, token, text | {"text": {"content": ""}})["errcode"] == 44004
    assert call(sb, path, token, text | {"msgtype": "telegram"})["errcode"] == 40008
    assert len(sb.sent("custom")) == 2
    with Sandbox(appid=APPID, secret=SECRET, enforce_48h=False) as relaxed:
        assert call(relaxed, path, fetch_token(relaxed), text)["errcode"] == 0


def test_jscode2session_maps_an_issued_code_once(sb):
    code = sb.issue_login_code("oMiniUser", unionid="uUnion")
    args = {"appid": MINI_APPID, "secret": MINI_SECRET, "grant_type": "authorization_code"}
    answer = call(sb, "sns/jscode2session", js_code=code, **args)
    assert answer["openid"] == "oMiniUser" and answer["unionid"] == "uUnion"
    assert answer["session_key"]
    assert call(sb, "sns/jscode2session", js_code=code, **args)["errcode"] == 40029
    other = sb.issue_login_code("oNoUnion")
    assert call(sb, "sns/jscode2session", js_code=other,
                **args | {"secret": "x"})["errcode"] == 40125
    assert call(sb, "sns/jscode2session", js_code=other,
                **args | {"appid": APPID, "secret": SECRET})["errcode"] == 40013
    assert "unionid" not in call(sb, "sns/jscode2session", js_code=other, **args)


def test_control_api_over_http(sb, token):
    client = SandboxClient(sb.url)
    client.unfollow("oFar")
    assert call(sb, TEMPLATE, token, template("oFar"))["errcode"] == 43004
    client.follow("oFar")
    client.inject(TEMPLATE, errcode=-1)
    assert call(sb, TEMPLATE, token, template("oFar"))["errcode"] == -1
    assert call(sb, TEMPLATE, token, template("oFar"))["errcode"] == 0
    assert [s["request"]["touser"] for s in client.sent("template")] == ["oFar"]
    client.grant_subscribe("oFar", "SUB", count=2)
    client.interact("oFar")
    code = client.issue_login_code("oFar")
    assert call(sb, "sns/jscode2session", js_code=code, appid=MINI_APPID, secret=MINI_SECRET,
                grant_type="authorization_code")["openid"] == "oFar"
    call(sb, "cgi-bin/menu/create", token, MENU)
    assert client.menu == MENU and client.qrcodes == {}
    client.quota(TEMPLATE, 0)
    assert call(sb, TEMPLATE, token, template())["errcode"] == 45009
    assert client.stats()["sent"] == {"template": 1, "menu": 1}
    client.clear()
    assert client.sent() == [] and call(sb, TEMPLATE, token, template())["errcode"] == 0
    client.expire_tokens()
    assert call(sb, TEMPLATE, token, template())["errcode"] == 42001
    assert client.token_fetches == 1
    with pytest.raises(SandboxError):
        client.inject(TEMPLATE, times=0)
    with pytest.raises(SandboxError):
        client.sent(kind="postcard")


# -- simulator ----------------------------------------------------------------------------
class Webhook:
    """A throwaway webhook that checks WeChat's signatures with wechatpy and echoes a text
    reply naming what it received (encrypted in safe mode)."""

    def __init__(self, aes_key: str | None = None):
        self.crypto = WeChatCrypto(TOKEN, aes_key, APPID) if aes_key else None
        self.received: list[tuple[dict, object]] = []
        app = Flask(__name__)
        app.add_url_rule("/wechat", view_func=self.receive, methods=["GET", "POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}/wechat"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def receive(self) -> Response | str | tuple[str, int]:
        args = request.args
        try:
            check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""),
                            args.get("nonce", ""))
        except InvalidSignatureException:
            return "bad signature", 403
        if request.method == "GET":
            return args["echostr"]
        body = request.get_data()
        if self.crypto:
            if args.get("encrypt_type") != "aes":
                return "plaintext refused", 403
            body = self.crypto.decrypt_message(body, args["msg_signature"], args["timestamp"],
                                               args["nonce"])
        msg = parse_message(body)
        self.received.append((dict(args), msg))
        if msg.type == "text" and msg.content == "quiet":
            return "success"
        reply = create_reply(f"got {getattr(msg, 'event', msg.type)} from {msg.source}",
                             msg).render()
        if self.crypto:
            reply = self.crypto.encrypt_message(reply, args["nonce"], args["timestamp"])
            if "tamper" in args:
                reply = reply.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        return Response(reply, content_type="application/xml; charset=utf-8")


@pytest.fixture
def hook() -> Iterator[Webhook]:
    webhook = Webhook()
    yield webhook
    webhook.server.shutdown()


@pytest.fixture
def aes_hook() -> Iterator[Webhook]:
    webhook = Webhook(AES_KEY)
    yield webhook
    webhook.server.shutdown()


def test_plain_mode_events_are_signed_and_replies_decoded(hook):
    sim = Simulator(hook.url, token=TOKEN, appid=APPID, account="gh_test")
    r = sim.subscribe("oUser1", scene="store_01")
    assert r.status == 200 and r.reply["Content"] == "got subscribe_scan from oUser1"
    assert r.reply["ToUserName"] == "oUser1" and "<CreateTime>" in r.xml
    args, msg = hook.received[-1]
    assert args["openid"] == "oUser1" and "encrypt_type" not in args
    assert msg.scene_id == "store_01" and msg.ticket and msg.target == "gh_test"
    assert msg.time == r.create_time
    assert sim.subscribe("oPlain").reply["Content"] == "got subscribe from oPlain"
    assert hook.received[-1][1].key in ("", None)
    assert sim.scan("oUser1", "staff_lily").reply["Content"] == "got scan from oUser1"
    assert hook.received[-1][1].scene_id == "staff_lily"
    assert sim.click("oUser1", "CHECKIN").reply["Content"] == "got click from oUser1"
    assert sim.view("oUser1", "https://e.com/").reply["Content"] == "got view from oUser1"
    assert sim.unsubscribe("oUser1").status == 200
    finished = sim.template_finished("oUser1", msgid=123, status="failed:user block")
    assert finished.reply["Content"] == "got templatesendjobfinish from oUser1"
    assert hook.received[-1][1].id == 123 and hook.received[-1][1].status == "failed:user block"


def test_consecutive_events_get_distinct_create_times_and_texts_distinct_msg_ids(hook):
    sim = Simulator(hook.url, token=TOKEN, appid=APPID)
    times = [sim.click("oFast", "CHECKIN").create_time for _ in range(3)]
    assert len(set(times)) == 3
    assert sim.click("oFast", "X", create_time=1_700_000_000).create_time == 1_700_000_000
    sim.text("oFast", "一")
    sim.text("oFast", "二")
    assert hook.received[-1][1].id != hook.received[-2][1].id
    assert hook.received[-1][1].content == "二"
    assert sim.text("oFast", "quiet", msg_id=42).reply is None
    assert hook.received[-1][1].id == 42


def test_replay_resends_the_same_message_with_a_fresh_signature(hook):
    sim = Simulator(hook.url, token=TOKEN, appid=APPID)
    first = sim.subscribe("oRetry", scene="poster", create_time=1_700_000_123)
    again = sim.replay(first)
    assert again.xml == first.xml and again.create_time == 1_700_000_123
    (args1, msg1), (args2, msg2) = hook.received[-2:]
    assert msg2.time == msg1.time == 1_700_000_123 and args1["nonce"] != args2["nonce"]


def test_handshake_and_bad_signatures(hook):
    sim = Simulator(hook.url, token=TOKEN, appid=APPID)
    assert sim.handshake(echostr="hello123").text == "hello123"
    assert sim.handshake(signature="0" * 40).status_code == 403
    xml = "<xml><MsgType>event</MsgType></xml>"
    assert sim.post_xml(xml, signature="f" * 40).status == 403
    assert sim.post_xml(xml, sign=False).status == 403
    wrong = Simulator(hook.url, token="not-the-token", appid=APPID)
    assert wrong.subscribe("oEvil").status == 403 and hook.received == []


def test_safe_mode_encrypts_events_and_verifies_replies(aes_hook):
    sim = Simulator(aes_hook.url, token=TOKEN, appid=APPID, encoding_aes_key=AES_KEY)
    r = sim.subscribe("oSecret", scene="store_01")
    assert r.status == 200 and r.reply["Content"] == "got subscribe_scan from oSecret"
    assert "<Encrypt>" in r.body and "oSecret" not in r.body  # nothing readable on the wire
    assert "oSecret" in r.xml  # the plaintext that was encrypted
    args, msg = aes_hook.received[-1]
    assert args["encrypt_type"] == "aes" and args["msg_signature"]
    assert msg.scene_id == "store_01"
    assert sim.replay(r).reply["Content"] == "got subscribe_scan from oSecret"
    assert aes_hook.received[-1][1].time == r.create_time
    assert sim.post_xml(r.xml, encrypt=False).status == 403  # plaintext refused
    tampered = Simulator(aes_hook.url + "?tamper=1", token=TOKEN, appid=APPID,
                         encoding_aes_key=AES_KEY)
    with pytest.raises(ReplyError):
        tampered.click("oSecret", "CHECKIN")


def test_simulate_cli_prints_status_and_reply(hook):
    runner = CliRunner()
    base = ["--url", hook.url, "--token", TOKEN, "--appid", APPID]
    result = runner.invoke(simulate_group, [*base, "subscribe", "oCli", "--scene", "store_01"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["HTTP 200", "got subscribe_scan from oCli"]
    result = runner.invoke(simulate_group, [*base, "text", "oCli", "quiet"])
    assert result.output.splitlines() == ["HTTP 200", "success"]
    bad = runner.invoke(simulate_group, ["--url", hook.url, "--token", "wrong", "click", "o", "K"])
    assert bad.exit_code == 1 and bad.output.startswith("HTTP 403")
