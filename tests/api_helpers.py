"""Helpers for the mini-program API tests: a sandbox with the mini-program's own
credentials, the app configured for the API, and a small JSON client that logs in the way
the mini-program does (a wx.login() code minted by the sandbox)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest
import requests

from conftest import APPID, SECRET, make_config, serve
from wx_member.sandbox import Sandbox

MINI_APPID, MINI_SECRET = "wxmini0000000001", "mini-secret-" + secrets.token_hex(4)
SECRET_KEY = secrets.token_hex(32)
CASHIER_KEY = "cashier-" + secrets.token_hex(8)


def api_config(db_url: str, sandbox: Sandbox, **extra):
    settings = dict(mini_appid=MINI_APPID, mini_secret=MINI_SECRET, secret_key=SECRET_KEY,
                    cashier_api_key=CASHIER_KEY)
    settings.update(extra)
    return make_config(db_url, sandbox, **settings)


@pytest.fixture
def mini_sandbox():
    """WeChat with an Official Account and a mini-program of its own appid and secret."""
    with Sandbox(appid=APPID, secret=SECRET, mini_appid=MINI_APPID, mini_secret=MINI_SECRET) as sb:
        yield sb


@pytest.fixture
def live_api(db_url, mini_sandbox):
    yield from serve(api_config(db_url, mini_sandbox))


@dataclass
class Member:
    token: str
    card_no: str
    openid: str
    body: dict = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ApiClient:
    def __init__(self, live, sandbox: Sandbox):
        self.live, self.sandbox = live, sandbox
        self.base = live.url + "api/"
        self.http = requests.Session()

    def call(self, method: str, path: str, member: Member | str | None = None,
             **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if isinstance(member, Member):
            headers.update(member.auth)
        elif isinstance(member, str):
            headers["Authorization"] = f"Bearer {member}"
        return self.http.request(method, self.base + path.lstrip("/"), headers=headers,
                                 timeout=30, **kwargs)

    def get(self, path, member=None, **kw):
        return self.call("GET", path, member, **kw)

    def post(self, path, member=None, **kw):
        return self.call("POST", path, member, **kw)

    def put(self, path, member=None, **kw):
        return self.call("PUT", path, member, **kw)

    def login(self, openid: str, unionid: str | None = None, scene: str | None = None) -> Member:
        body = {"code": self.sandbox.issue_login_code(openid, unionid)}
        if scene:
            body["scene"] = scene
        res = self.post("login", json=body)
        assert res.status_code == 200, res.text
        data = res.json()
        return Member(data["token"], data["card_no"], openid, data)


@pytest.fixture
def api(live_api, mini_sandbox) -> ApiClient:
    return ApiClient(live_api, mini_sandbox)


# -- data for the wallet tests, written through the services (as operators and tills do) --
def member_id(live, card_no: str) -> int:
    from wx_member.members import membership

    with live.session() as s, s.read():
        return membership.by_card(s, card_no).id


def give_points(live, card_no: str, n: int, key: str) -> None:
    from wx_member.members import membership
    from wx_member.loyalty import points

    with live.session() as s, s.begin():
        points.post(s, membership.by_card(s, card_no), n, "adjust", key)


def add_gift(live, name: str, points: int, stock: int) -> int:
    from wx_member.loyalty import gift_catalogue

    with live.session() as s:
        return gift_catalogue.add_gift(s, name, points, stock).id


def member_code(api: ApiClient, member: Member) -> str:
    res = api.get("me/member-code", member)
    assert res.status_code == 200, res.text
    return res.json()["code"]


CASHIER = {"X-Cashier-Key": CASHIER_KEY}
