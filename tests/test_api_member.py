"""The member's own data over HTTP: card (tier progress, expiring points), points and tier
history, profile (birthday once, phone through WeChat), referral code and results,
subscribe grants, and the member code a cashier resolves."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import date, datetime, timedelta

import requests
from sqlalchemy import select

from api_helpers import (CASHIER_KEY, MINI_APPID, MINI_SECRET, SECRET_KEY, api,  # noqa: F401
                         api_config, live_api, mini_sandbox)
from wx_member.models import Channel, Member, PointsLedger, SubscribeGrant, utcnow
from wx_member.members import joining, membership
from wx_member.loyalty import points
from wx_member.payments import stored_value
from wx_member.loyalty import tiers
from wx_member.platform.access_tokens import issue_access
from wx_member.members.member_codes import issue as issue_code

SHANGHAI_OFFSET = timedelta(hours=8)


def _row(live, card_no) -> Member:
    with live.session() as s, s.read():
        return membership.by_card(s, card_no)


def _post_points(live, card_no, delta, key, expires_at=None, reason="adjust"):
    with live.session() as s, s.begin():
        points.post(s, membership.by_card(s, card_no), delta, reason, key, expires_at=expires_at)


def _spend(live, card_no, fen):
    with live.session() as s, s.begin():
        m = membership.by_card(s, card_no)
        m.total_spend_fen = fen
        s.flush()
        new = tiers.tier_for_spend(s, fen)
        if tiers.rank(new) > tiers.rank(m.tier):  # a payment only ever raises the tier
            now = utcnow()
            tiers.move(s, m, new, "payment", f"order:test{fen}", fen, now, now,
                       ZoneInfo("Asia/Shanghai"))


def test_card_shows_tier_progress_balance_and_what_lapses_first(api, live_api):
    me = api.login("oCard")
    _spend(live_api, me.card_no, 5000)  # 50 of the 200 yuan to 银卡
    now = utcnow()
    # Lots expiring at 16:00 UTC = midnight in Shanghai: the local date is the next day.
    d1 = datetime(now.year, now.month, now.day, 16, 0) + timedelta(days=10)
    _post_points(live_api, me.card_no, 30, "lot1", expires_at=d1)
    _post_points(live_api, me.card_no, 5, "lot1b", expires_at=d1 + timedelta(hours=1))
    _post_points(live_api, me.card_no, 40, "lot2", expires_at=d1 + timedelta(days=40))
    _post_points(live_api, me.card_no, 7, "lot-past", expires_at=now - timedelta(days=1))
    # Spending takes the oldest lots first: the 7 already past their day (the run has not
    # removed them yet), then 13 of the 35 that lapse on d1.
    _post_points(live_api, me.card_no, -20, "spent")  # balance 10 + 82 - 20 = 72
    with live_api.session() as s, s.begin():
        stored_value.post(s, membership.by_card(s, me.card_no), 12345, "recharge", "sv-card")

    card = api.get("me/card", me).json()
    assert (card["points"], card["balance_fen"]) == (72, 12345)
    assert (card["tier"], card["tier_name"], card["total_spend_fen"]) == ("normal", "普通会员", 5000)
    assert card["next_tier"] == {"tier": "silver", "name": "银卡会员", "threshold_fen": 20000,
                                 "remaining_fen": 15000, "progress_percent": 25}
    local = (d1 + SHANGHAI_OFFSET).date()
    signup_day = _lot_day(live_api, f"signup:{_row(live_api, me.card_no).id}")
    assert card["expiring"] == [{"date": local.isoformat(), "points": 22},
                                {"date": (local + timedelta(days=40)).isoformat(), "points": 40},
                                {"date": signup_day.isoformat(), "points": 10}]
    assert sum(e["points"] for e in card["expiring"]) == card["points"]

    _spend(live_api, me.card_no, 100000)
    card = api.get("me/card", me).json()
    assert (card["tier_name"], card["next_tier"]) == ("钻石会员", None)


def _lot_day(live, key) -> date:
    with live.session() as s, s.read():
        lot = s.scalar(select(PointsLedger).where(PointsLedger.idem_key == key))
        return (lot.expires_at + SHANGHAI_OFFSET).date()


def test_points_history_is_paged_newest_first_with_chinese_reasons(api, live_api):
    me = api.login("oHistory")
    for i in range(24):
        _post_points(live_api, me.card_no, i + 1, f"h{i}", reason="checkin")
    page = api.get("me/points", me, params={"limit": 20}).json()
    assert [e["delta"] for e in page["entries"]] == list(range(24, 4, -1))
    assert page["entries"][0]["reason_zh"] == "每日签到"
    rest = api.get("me/points", me, params={"before": page["next_before"], "limit": 20}).json()
    assert [e["delta"] for e in rest["entries"]] == [4, 3, 2, 1, 10]
    assert rest["entries"][-1]["reason_zh"] == "入会礼" and rest["next_before"] is None
    assert rest["entries"][-1]["created_at"].endswith("Z") or "+00:00" in rest["entries"][-1]["created_at"]
    for bad in ({"limit": 0}, {"limit": 51}, {"before": -1}, {"limit": "x"}):
        res = api.get("me/points", me, params=bad)
        assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED"), bad


def test_tier_history_lists_changes_in_chinese(api, live_api):
    me = api.login("oTiers")
    assert api.get("me/tiers", me).json() == {"changes": []}
    _spend(live_api, me.card_no, 20000)
    _spend(live_api, me.card_no, 50000)
    changes = api.get("me/tiers", me).json()["changes"]
    assert [(c["from_name"], c["to_name"], c["reason_zh"]) for c in changes] == [
        ("银卡会员", "金卡会员", "消费升级"), ("普通会员", "银卡会员", "消费升级")]


def test_birthday_is_settable_once(api, live_api):
    me = api.login("oBirthday")
    assert api.get("me/profile", me).json() == {
        "card_no": me.card_no, "birthday": None, "birthday_settable": True, "phone": None,
        "name": None}
    res = api.put("me/profile/birthday", me, json={"birthday": "1990-05-01"})
    assert res.status_code == 200
    assert (res.json()["birthday"], res.json()["birthday_settable"]) == ("1990-05-01", False)
    res = api.put("me/profile/birthday", me, json={"birthday": "1991-06-02"})
    assert res.status_code == 409
    assert res.json() == {"code": "BIRTHDAY_ALREADY_SET",
                          "message": "生日设置后不能修改，如需更正请联系门店。"}
    assert _row(live_api, me.card_no).birthday == datetime(1990, 5, 1)


def test_the_member_sets_and_changes_their_name(api, live_api):
    me = api.login("oNamed")
    res = api.put("me/profile/name", me, json={"name": "  Wang  Fang "})
    assert res.status_code == 200 and res.json()["name"] == "Wang Fang"
    assert api.put("me/profile/name", me, json={"name": "王芳"}).json()["name"] == "王芳"
    for bad in ("长" * 31, "<script>"):
        res = api.put("me/profile/name", me, json={"name": bad})
        assert res.status_code == 400 and res.json()["code"] == "NAME_INVALID", bad
        assert "姓名最多 30 个字" in res.json()["message"]
    assert _row(live_api, me.card_no).name == "王芳"
    assert api.put("me/profile/name", me, json={"name": ""}).json()["name"] is None


def test_bad_birthdays_are_refused_and_change_nothing(api, live_api):
    me = api.login("oBadBirthday")
    future = (date.today() + timedelta(days=2)).isoformat()
    for value, code in ((future, "BIRTHDAY_INVALID"), ("1899-12-31", "BIRTHDAY_INVALID"),
                        ("2001-02-30", "VALIDATION_FAILED"), ("05/01/1990", "VALIDATION_FAILED"),
                        (None, "VALIDATION_FAILED")):
        res = api.put("me/profile/birthday", me, json={"birthday": value})
        assert res.status_code in (400, 422) and res.json()["code"] == code, value
    assert _row(live_api, me.card_no).birthday is None


def test_phone_comes_from_wechats_code_with_the_mini_programs_token(api, live_api, mini_sandbox):
    me = api.login("oPhone")
    code = mini_sandbox.issue_phone_code("13800138000")
    res = api.put("me/profile/phone", me, json={"code": code})
    assert res.status_code == 200 and res.json()["phone"] == "13800138000"
    again = api.put("me/profile/phone", me, json={"code": code})  # single use
    assert (again.status_code, again.json()["code"]) == (400, "PHONE_CODE_INVALID")
    abroad = mini_sandbox.issue_phone_code("91234567", country_code="65")
    assert api.put("me/profile/phone", me, json={"code": abroad}).json()["phone"] == "+6591234567"


def test_referral_code_is_made_once_and_renewed_when_expiring(api, live_api, mini_sandbox):
    me = api.login("oReferrer")
    first = api.get("me/referral/code", me).json()
    assert first["scene"] == f"ref_{me.card_no}"
    image = requests.get(first["image_url"], timeout=10)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert api.get("me/referral/code", me).json() == first
    assert len(mini_sandbox.sent("qrcode")) == 1
    with live_api.session() as s, s.begin():
        s.scalar(select(Channel).where(Channel.scene == first["scene"])).expires_at = (
            utcnow() + timedelta(hours=2))
    renewed = api.get("me/referral/code", me).json()
    assert renewed["image_url"] != first["image_url"] and len(mini_sandbox.sent("qrcode")) == 2
    renewed_until = datetime.fromisoformat(renewed["expires_at"]).replace(tzinfo=None)
    assert renewed_until > utcnow() + timedelta(days=29)  # 30 days again, not the 2 hours left
    mini_sandbox.inject("cgi-bin/qrcode/create", errcode=-1)
    with live_api.session() as s, s.begin():
        s.scalar(select(Channel).where(Channel.scene == first["scene"])).expires_at = utcnow()
    res = api.get("me/referral/code", me)
    assert (res.status_code, res.json()["code"]) == (503, "WECHAT_UNAVAILABLE")


def test_referral_results_count_referees_and_points(api, live_api):
    me = api.login("oRef")
    assert api.get("me/referral/results", me).json() == {
        "referees": 0, "points_earned": 0, "recent": []}
    friend = api.login("oRefFriend", scene=f"ref_{me.card_no}")
    sim = live_api.simulator()
    sim.subscribe("oRefFriend2", scene=f"ref_{me.card_no}")  # through the Official Account
    got = api.get("me/referral/results", me).json()
    assert (got["referees"], got["points_earned"]) == (2, 20)
    assert friend.card_no not in str(got)  # a referee's card number is theirs
    assert got["recent"][1]["card_hint"] == friend.card_no[:3] + "****" + friend.card_no[-3:]


def test_subscribe_grants_are_counted_per_template(api, live_api):
    me = api.login("oSubs")
    assert api.get("me/subscriptions", me).json() == {"remaining": {}}
    body = {"results": {"TPL_A": "accept", "TPL_B": "reject"}}
    assert api.post("me/subscriptions", me, json=body).json() == {"remaining": {"TPL_A": 1}}
    body = {"results": {"TPL_A": "accept", "TPL_C": "accept", "TPL_D": "ban"}}
    assert api.post("me/subscriptions", me, json=body).json() == {
        "remaining": {"TPL_A": 2, "TPL_C": 1}}
    for bad in ({"results": {"TPL_A": "yes"}}, {"results": {}}, {"results": {"a b": "accept"}},
                {"results": {f"T{i}": "accept" for i in range(11)}}):
        res = api.post("me/subscriptions", me, json=bad)
        assert res.status_code in (400, 422), bad
    with live_api.session() as s, s.read():
        assert {g.template_id: g.remaining for g in s.scalars(select(SubscribeGrant))} == {
            "TPL_A": 2, "TPL_C": 1}


def test_member_code_resolves_at_the_cashier(api, live_api):
    me = api.login("oCashier")
    shown = api.get("me/member-code", me).json()
    assert shown["expires_in"] == 60
    cashier = {"X-Cashier-Key": CASHIER_KEY}
    res = api.post("cashier/resolve", json={"code": shown["code"]}, headers=cashier)
    assert res.status_code == 200
    assert res.json() == {"card_no": me.card_no, "tier": "normal", "tier_name": "普通会员",
                          "points": 10}
    for headers in ({}, {"X-Cashier-Key": "wrong"}, {"X-Cashier-Key": ""}):
        res = api.post("cashier/resolve", json={"code": shown["code"]}, headers=headers)
        assert (res.status_code, res.json()["code"]) == (401, "CASHIER_UNAUTHORIZED")
    # A member's own token does not open the cashier endpoint either.
    res = api.post("cashier/resolve", me, json={"code": shown["code"]})
    assert res.status_code == 401


def test_expired_or_foreign_member_codes_are_refused(api, live_api):
    me = api.login("oCodes")
    cashier = {"X-Cashier-Key": CASHIER_KEY}
    with live_api.session() as s:
        with s.read():
            member_id = membership.by_card(s, me.card_no).id
        old = issue_code(s, SECRET_KEY, member_id, ttl=60, now=utcnow().timestamp() - 61)
    res = api.post("cashier/resolve", json={"code": old.token}, headers=cashier)
    assert (res.status_code, res.json()["code"]) == (400, "MEMBER_CODE_EXPIRED")
    assert "过期" in res.json()["message"]
    # An access token is not a member code, and a member code is not an access token.
    res = api.post("cashier/resolve", json={"code": me.token}, headers=cashier)
    assert (res.status_code, res.json()["code"]) == (400, "MEMBER_CODE_INVALID")
    shown = api.get("me/member-code", me).json()["code"]
    assert api.get("me/card", shown).status_code == 401
    forged = issue_access("x" * 32, member_id, 60)
    res = api.post("cashier/resolve", json={"code": forged.token}, headers=cashier)
    assert res.json()["code"] == "MEMBER_CODE_INVALID"


def test_subscribe_pushes_go_to_the_mini_program_openid(session, mini_sandbox):
    """A subscribe message is addressed with the mini-program's openid (WeChat's openids
    differ per appid); members who never used the mini-program are not planned."""
    from jinja2 import Template

    from wx_member.config import Config
    from wx_member.models import Delivery
    from wx_member.pushes.definitions import PushKind
    from wx_member.members import miniapp
    from wx_member.pushes import planners
    from wx_member.pushes import subscriptions
    from wx_member.wechat.gateway import WeChatGateway

    with session.begin():
        oa_only = joining.join(session, "oOA-only").member
    session.expunge_all()

    gateway = WeChatGateway(api_config("sqlite://", mini_sandbox))
    code = mini_sandbox.issue_login_code("oMini-push")
    mini = miniapp.login(session, gateway, code, appid=MINI_APPID, secret=MINI_SECRET).member
    for member_id in (oa_only.id, mini.id):
        subscriptions.record(session, member_id, {"TPL_S": "accept"})
    push = PushKind(kind="notice", title="t", category="service", channel="subscribe",
                    urgent=False, fields={"thing1": Template("{{ card_no }}")}, text=None,
                    url=None, page="pages/card/index", sample={}, template_id="TPL_S")
    now = utcnow()
    planners.fan_out(session, push, "once", planners.audience(push, now), Config(), now)
    with session.begin():
        rows = [(d.member_id, d.openid) for d in session.scalars(select(Delivery))]
    assert rows == [(mini.id, "oMini-push")]
