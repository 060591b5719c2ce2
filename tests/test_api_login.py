"""Mini-program login over HTTP: wx.login code → jscode2session at the sandbox → member →
signed token. New members get a card and sign-up points once; an Official Account member
is linked by unionid; bad codes, WeChat failures and floods get clear 4xx/5xx answers."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from stdnum import luhn

import helpers
from api_helpers import ApiClient, api, api_config, live_api, mini_sandbox  # noqa: F401
from conftest import serve
from wx_member.models import Member, PointsLedger
from wx_member.members import membership


def _member(live, card_no) -> Member:
    with live.session() as s, s.read():
        return membership.by_card(s, card_no)


def test_first_login_creates_a_member_with_card_signup_points_and_gift(api, live_api):
    me = api.login("oMini-new")
    assert me.body["created"] is True
    assert set(me.body) == {"token", "expires_in", "expires_at", "card_no", "created"}
    assert luhn.is_valid(me.card_no)
    row = _member(live_api, me.card_no)
    assert (row.mini_openid, row.openid, row.subscribed) == ("oMini-new", None, False)
    card = api.get("me/card", me).json()
    assert (card["card_no"], card["points"], card["tier_name"]) == (me.card_no, 10, "普通会员")

    gifts = api.get("me/coupons", me).json()["coupons"]
    assert [(c["text"], c["status"]) for c in gifts] == [("10元代金券", "available")]

    again = api.login("oMini-new")
    assert again.body["created"] is False and again.card_no == me.card_no
    assert api.get("me/card", again).json()["points"] == 10  # sign-up points once
    assert api.get("me/coupons", again).json()["coupons"] == gifts  # and the gift once
    assert helpers.count(live_api, Member) == 1


def test_login_links_the_official_account_member_by_unionid(api, live_api):
    sim = live_api.simulator()
    sim.subscribe("oOA-linked")
    with live_api.session() as s, s.begin():
        membership.by_openid(s, "oOA-linked").unionid = "uUnion1"  # known from user/info
    oa_card = helpers.member(live_api, "oOA-linked").card_no

    me = api.login("oMini-linked", unionid="uUnion1")
    assert (me.card_no, me.body["created"]) == (oa_card, False)
    row = _member(live_api, oa_card)
    assert (row.openid, row.mini_openid) == ("oOA-linked", "oMini-linked")
    assert helpers.count(live_api, Member) == 1
    assert api.get("me/card", me).json()["points"] == 10  # the OA sign-up, not a second one


def test_bad_and_reused_codes_are_refused_in_chinese(api, mini_sandbox):
    res = api.post("login", json={"code": "not-a-code"})
    assert res.status_code == 400
    assert res.json() == {"code": "LOGIN_CODE_INVALID", "message": "登录凭证无效或已使用，请重新登录。"}
    code = mini_sandbox.issue_login_code("oMini-reuse")
    assert api.post("login", json={"code": code}).status_code == 200
    assert api.post("login", json={"code": code}).json()["code"] == "LOGIN_CODE_INVALID"


def test_invalid_bodies_get_validation_errors(api):
    for body in ({}, {"code": ""}, {"code": "x" * 200}, {"code": 5}, {"code": "c", "extra": 1}):
        res = api.post("login", json=body)
        assert res.status_code == 422, body
        assert res.json()["code"] == "VALIDATION_FAILED" and res.json()["errors"]["json"]
    res = api.post("login", data="not json", headers={"Content-Type": "application/json"})
    assert res.status_code in (400, 422) and res.json()["code"]


def test_wechat_failure_is_503_and_creates_nothing(api, live_api, mini_sandbox):
    mini_sandbox.inject("sns/jscode2session", http_status=502)
    res = api.post("login", json={"code": mini_sandbox.issue_login_code("oMini-down")})
    assert res.status_code == 503 and res.json()["code"] == "WECHAT_UNAVAILABLE"
    mini_sandbox.inject("sns/jscode2session", errcode=-1)
    res = api.post("login", json={"code": mini_sandbox.issue_login_code("oMini-down")})
    assert res.status_code == 503
    assert helpers.count(live_api, Member) == 0


def test_login_through_a_referral_scene_credits_the_referrer(api, live_api):
    referrer = api.login("oMini-referrer")
    friend = api.login("oMini-friend", scene=f"ref_{referrer.card_no}")
    assert api.get("me/card", referrer).json()["points"] == 20
    assert _member(live_api, friend.card_no).referrer_id == _member(live_api, referrer.card_no).id
    # A returning member is not anyone's referee.
    api.login("oMini-referrer", scene=f"ref_{friend.card_no}")
    assert _member(live_api, referrer.card_no).referrer_id is None


def test_concurrent_first_logins_make_one_member(api, live_api, mini_sandbox):
    codes = [mini_sandbox.issue_login_code("oMini-race") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: api.post("login", json={"code": c}), codes))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.json()["card_no"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    with live_api.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(PointsLedger)) == 1


def test_login_is_rate_limited_per_address(api, live_api):
    answers = [api.post("login", json={"code": f"bad{i}"}).status_code for i in range(11)]
    assert answers == [400] * 10 + [429]
    res = api.post("login", json={"code": "bad"})
    assert res.status_code == 429
    assert res.json() == {"code": "RATE_LIMITED", "message": "操作太频繁，请稍后再试。"}
    assert int(res.headers["Retry-After"]) > 0
    # Other endpoints are not limited by it.
    assert api.get("openapi.json").status_code == 200


def test_without_keys_the_api_answers_503(db_url, mini_sandbox):
    for live in serve(api_config(db_url, mini_sandbox, secret_key="", cashier_api_key="")):
        client = ApiClient(live, mini_sandbox)
        res = client.post("login", json={"code": mini_sandbox.issue_login_code("o1")})
        assert (res.status_code, res.json()["code"]) == (503, "API_NOT_CONFIGURED")
        assert client.get("me/card", "whatever").status_code == 503
        res = client.post("cashier/resolve", json={"code": "x"})
        assert (res.status_code, res.json()["code"]) == (503, "API_NOT_CONFIGURED")
