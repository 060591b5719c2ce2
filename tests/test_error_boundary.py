"""One error boundary: domain errors carry a code and a Chinese message, never an HTTP status;
each surface answers them in its one way (JSON {code, message} on /api and /shop, a flashed
or shown message in the console); a WeChat failure reaches the caller as a domain error,
never as a 500."""
from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
import requests
from sqlalchemy import select

import handlers
import wx_member
from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401
from conftest import APPID, SECRET, serve
from console_helpers import console, logged_in  # noqa: F401
from wx_member.config import Config
from wx_member.errors import DomainError, WeChatUnavailable
from wx_member.models import Channel
from wx_member.web import errors as web_errors
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

SHOP_KEY = "shop-key-for-errors"
UNAVAILABLE = {"code": "WECHAT_UNAVAILABLE", "message": "微信服务暂时不可用，请稍后再试。"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _domain_errors() -> set[type[DomainError]]:
    for pkg in (wx_member, handlers):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            # gunicorn_conf is gunicorn's config file, __main__ runs the CLI: not libraries
            if mod.name != "wx_member.gunicorn_conf" and not mod.name.endswith(".__main__"):
                importlib.import_module(mod.name)
    found, todo = set(), [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def test_every_domain_error_has_its_own_code_a_chinese_message_and_no_http_status():
    classes = _domain_errors() | {DomainError}
    codes: dict[str, type] = {}
    for cls in classes:
        assert not hasattr(cls, "http_status"), f"{cls.__name__}: the surfaces choose statuses"
        assert CHINESE.search(cls.user_message), cls
        if cls is GatewayError:  # the gateway's WeChatUnavailable, with WeChat's errcode
            continue
        assert "code" in vars(cls), f"{cls.__name__} declares no code of its own"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", cls.code), cls
        assert codes.setdefault(cls.code, cls) is cls, f"{cls.code}: {cls} and {codes[cls.code]}"
    assert set(web_errors.STATUS) <= set(codes), "a status for a code no error has"


@pytest.fixture
def json_app(db_url, mini_sandbox):  # noqa: F811
    yield from serve(api_config(db_url, mini_sandbox, shop_api_key=SHOP_KEY))


def test_api_and_shop_answer_domain_and_http_errors_in_one_shape(json_app, mini_sandbox):  # noqa: F811
    api = ApiClient(json_app, mini_sandbox)
    me = api.login("oShape")
    res = api.get("me/coupons/NOPE1", me)
    assert (res.status_code, res.json()) == (404, {"code": "COUPON_NOT_FOUND",
                                                   "message": "优惠券不存在。"})
    shop = json_app.url + "shop/orders/"
    auth = {"Authorization": f"Bearer {SHOP_KEY}"}
    res = requests.post(shop + "T404/delivered", headers=auth, timeout=10)
    assert (res.status_code, res.json()) == (404, {"code": "ORDER_NOT_FOUND",
                                                   "message": "订单不存在。"})
    # HTTP-level failures under /shop are JSON too (they were Flask's HTML pages).
    res = requests.post(shop + "T1/returned", headers=auth, timeout=10)
    assert (res.status_code, res.json()) == (404, {"code": "NOT_FOUND", "message": "接口不存在。"})
    res = requests.get(shop + "T1/shipped", headers=auth, timeout=10)
    assert (res.status_code, res.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    res = requests.post(shop + "T1/shipped", timeout=10)
    assert (res.status_code, res.json()) == (401, {"code": "UNAUTHORIZED",
                                                   "message": "身份验证失败。"})
    # Other surfaces keep their own pages.
    assert "json" not in requests.get(json_app.url + "nowhere", timeout=10).headers["Content-Type"]


def test_a_failed_token_refresh_is_a_gateway_error_not_wechatpys(sandbox):
    gw = WeChatGateway(Config(appid=APPID, secret=SECRET, api_base=sandbox.url,
                              mp_base=sandbox.url))
    sandbox.interact("oHttp")  # inside the 48-hour window
    gw.send_text("oHttp", "先取令牌")
    sandbox.expire_tokens()  # the next send is refused with 42001 and refreshes the token
    sandbox.inject("cgi-bin/token", errcode=-1)
    with pytest.raises(GatewayError) as caught:
        gw.send_text("oHttp", "你好")
    assert (caught.value.errcode, caught.value.maybe_sent) == (-1, False)  # it never went out
    assert isinstance(caught.value, WeChatUnavailable) and caught.value.code == UNAVAILABLE["code"]


def test_wechat_failure_reaches_the_api_caller_in_chinese(json_app, mini_sandbox):  # noqa: F811
    api = ApiClient(json_app, mini_sandbox)
    first, second = api.login("oFirst"), api.login("oSecond")
    assert api.get("me/referral/code", first).status_code == 200  # a token is stored
    mini_sandbox.expire_tokens()
    mini_sandbox.inject("cgi-bin/token", errcode=-1)  # and the refresh fails (was a 500)
    res = api.get("me/referral/code", second)
    assert (res.status_code, res.json()) == (503, UNAVAILABLE)


def test_wechat_failure_reaches_the_operator_in_chinese(console, sandbox):  # noqa: F811
    b = logged_in(console, "root", "admin")
    res = b.post("/admin/channels", {"scene": "door", "name": "门口", "kind": "store",
                                     "days": "7"})
    assert res.status_code == 302
    b.get("/admin/menu")
    sandbox.expire_tokens()
    sandbox.inject("cgi-bin/token", errcode=-1)
    res = b.post("/admin/menu", {"action": "publish", "b0_name": "签到", "b0_type": "click",
                                 "b0_value": "CHECKIN"})
    assert res.status_code == 200 and "微信拒绝了菜单（-1" in res.text  # was a 500
    with console.session() as s, s.begin():  # a ticket WeChat no longer knows: HTTP 404
        s.scalar(select(Channel).where(Channel.scene == "door")).ticket = "gone"
    res = b.get("/admin/channels/door/qrcode.png")  # the console's one mapping, a GET
    assert res.status_code == 503 and UNAVAILABLE["message"] in res.text


def test_a_refusal_no_console_route_handles_is_flashed_on_the_page_it_came_from(console,  # noqa: F811
                                                                                 sandbox):
    b = logged_in(console, "root", "admin")
    b.get("/admin/menu")
    menu_page = b.base + "/admin/menu"
    res = b.post("/admin/menu/rollback/999", headers={"Referer": menu_page})
    assert (res.status_code, res.headers["Location"]) == (302, "/admin/menu")
    assert "没有这个菜单版本" in b.get("/admin/menu").text
    # Without a Referer (or one from elsewhere): the dashboard.
    res = b.post("/admin/menu/rollback/999", headers={"Referer": "http://evil.example/admin/"})
    assert (res.status_code, res.headers["Location"]) == (302, "/admin/")
