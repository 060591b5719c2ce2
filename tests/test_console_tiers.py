"""会员等级 in the console, over HTTP: the ladder in yuan with rates, discounts, birthday gifts
and member counts; an admin lowers 银卡's threshold and the member's next payment (a WeChat
Pay notify) moves them; a ladder that does not increase is refused, a threshold under ¥10
asks first; birthday points and coupons per tier, granted by the scheduler's jobs once a
year and seen in the mini-program API."""
from __future__ import annotations

import secrets
from datetime import datetime

import pytest
from sqlalchemy import update

from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401
from conftest import APPID, MCH_ID, serve
from console_helpers import add_operator, logged_in
from helpers import member

from wx_member.models import AuditLog, Member
from wx_member.platform import settings


@pytest.fixture
def app(db_url, mini_sandbox):
    """Console, mini-program API and WeChat Pay v2 notifies, on one app."""
    yield from serve(api_config(db_url, mini_sandbox, cookie_secure=False, mch_id=MCH_ID,
                                pay_api_key=secrets.token_hex(16)))


@pytest.fixture
def payer(app):
    from wx_member.sandbox.pay import PayNotifier

    return PayNotifier(app.url, APPID, MCH_ID, api_key=app.config.pay_api_key)


def tier_row(page: str, tier: str) -> str:
    return page.split(f'id="tier-{tier}"')[1].split("</tr>")[0]


def test_lowering_silver_moves_a_member_on_their_next_payment(app, payer):
    sim = app.simulator()
    sim.subscribe("oNear")
    assert payer.v2_payment("oNear", "N1", 16000).ok  # ¥160: short of ¥200
    assert member(app, "oNear").tier == "normal"
    b = logged_in(app, "root", "admin")
    page = b.get("/admin/tiers").text
    assert "会员等级" in page and 'href="/admin/tiers"' in page  # in the navigation
    silver = tier_row(page, "silver")
    assert "200.00 元" in silver and "1.2 积分（120%）" in silver and "9.5折" in silver
    assert tier_row(page, "normal").endswith('<td class="num">1</td>')  # one 普通会员
    assert "银卡会员门槛" not in b.get("/admin/rules").text.split('id="rules"')[1]  # moved here

    res = b.post("/admin/tiers/silver", {"threshold": "150", "rate": "120",
                                         "birthday_points": "0", "birthday_template": "5"})
    assert res.status_code == 302
    page = b.get("/admin/tiers").text
    assert "银卡会员已保存（1 项修改）" in page and "150.00 元" in tier_row(page, "silver")
    assert member(app, "oNear").tier == "normal"  # a tier moves on a payment, not on a save
    assert payer.v2_payment("oNear", "N2", 100).ok  # ¥1 more: ¥161 ≥ ¥150
    assert member(app, "oNear").tier == "silver"
    page = b.get("/admin/tiers").text
    assert tier_row(page, "silver").endswith('<td class="num">1</td>')
    audit = b.get("/admin/audit").text
    assert "银卡门槛（累计消费）" in audit and "200.00 元 → 150.00 元" in audit

    b.post("/admin/tiers/review", {"review": "yearly", "window_months": "12"})
    page = b.get("/admin/tiers").text
    assert "降级复核已保存：每年在升级周年日复核" in page and "最近 12 个月的消费" in page
    with app.session() as s, s.read():
        assert (settings.get(s, "tier_review"), settings.get(s, "tier_window_months")) == ("yearly", 12)


def test_a_ladder_that_does_not_increase_is_refused_and_a_low_threshold_asks_first(app):
    b = logged_in(app, "root", "admin")
    b.get("/admin/tiers")
    form = {"rate": "120", "birthday_points": "0", "birthday_template": "5"}
    b.post("/admin/tiers/silver", {**form, "threshold": "500"})  # equal to 金卡
    page = b.get("/admin/tiers").text
    assert "等级门槛必须逐级递增" in page and "银卡会员 500.00 元，金卡会员 500.00 元" in page
    b.post("/admin/tiers/silver", {**form, "threshold": "abc"})
    assert "请按元填写金额" in b.get("/admin/tiers").text
    b.post("/admin/tiers/normal", {"rate": "5000", "birthday_points": "0", "birthday_template": "0"})
    assert "积分倍率须为 0–1000" in b.get("/admin/tiers").text
    page = b.get("/admin/tiers").text  # the coffee carried over for 普通会员, who never got it
    assert "（本等级领不到）" in tier_row(page, "normal")
    assert "（本等级领不到）" not in tier_row(page, "silver")
    b.post("/admin/tiers/normal", {"rate": "100", "birthday_points": "0", "birthday_template": "0"})
    b.post("/admin/tiers/normal", {"rate": "100", "birthday_points": "0", "birthday_template": "5"})
    assert "限银卡会员及以上，普通会员领不到" in b.get("/admin/tiers").text
    with app.session() as s, s.read():
        assert settings.get(s, "tier_normal_birthday_coupon_template") == 0

    asked = b.post("/admin/tiers/silver", {**form, "threshold": "5"})  # ¥5: fen for yuan?
    assert asked.status_code == 200 and "低于 10 元" in asked.text and "仍然保存" in asked.text
    with app.session() as s, s.read():
        assert settings.get(s, "tier_silver_fen") == 20000  # asked, not saved
        assert s.query(AuditLog).filter_by(action="setting.change").count() == 1  # 普通: 不送券
    b.post("/admin/tiers/silver", {**form, "threshold": "5", "confirm_low": "1"})
    with app.session() as s, s.read():
        assert settings.get(s, "tier_silver_fen") == 500
        entry = s.query(AuditLog).filter_by(action="setting.change", target="tier_silver_fen").one()
        assert (entry.actor, entry.target, entry.before, entry.after) == (
            "root", "tier_silver_fen", 20000, 500)

    ops = logged_in(app, "otto", "operator")
    assert "银卡会员" in ops.get("/admin/tiers").text  # everyone reads
    assert ops.post("/admin/tiers/silver", {**form, "threshold": "300"}).status_code == 403


def test_birthday_gifts_per_tier_granted_once_a_year_by_the_jobs(app, payer, mini_sandbox):
    from wx_member.scheduler import birthday_coupons_job, birthday_points_job, build_scheduler

    api, sim = ApiClient(app, mini_sandbox), app.simulator()
    today = datetime.now(app.config.tz).date()
    me = {}
    for name in ("silver", "plain"):  # following the account, linked to the mini-program
        sim.subscribe(f"o-{name}")
        with app.session() as s, s.begin():
            s.execute(update(Member).where(Member.openid == f"o-{name}").values(unionid=f"u-{name}"))
        me[name] = api.login(f"m-{name}", f"u-{name}")
        born = today.replace(year=1990 if (today.month, today.day) != (2, 29) else 1992)
        assert api.put("me/profile/birthday", me[name],
                       json={"birthday": born.isoformat()}).status_code == 200
    assert payer.v2_payment("o-silver", "B1", 20000).ok  # ¥200: 银卡
    b = logged_in(app, "root", "admin")
    page = b.get("/admin/tiers").text
    assert "不送积分；优惠券：" in tier_row(page, "silver")  # carried over: the coffee, no points
    b.post("/admin/tiers/silver", {"threshold": "200", "rate": "120", "birthday_points": "88",
                                   "birthday_template": "5"})
    b.post("/admin/tiers/normal", {"rate": "100", "birthday_points": "8", "birthday_template": "0"})
    page = b.get("/admin/tiers").text
    assert "88 积分" in tier_row(page, "silver") and "8 积分；不送券" in tier_row(page, "normal")
    audit = b.get("/admin/audit").text
    assert "银卡会员生日月赠送积分（0 为不送）" in audit and "0 积分 → 88 积分" in audit

    before = {name: api.get("me/card", me[name]).json()["points"] for name in me}
    build_scheduler(app.rt)  # the jobs' runtime; the jobs are run here as the scheduler would
    for _ in range(2):  # twice: once a year whoever runs it
        birthday_points_job()
        birthday_coupons_job()
    after = {name: api.get("me/card", me[name]).json()["points"] for name in me}
    assert (after["silver"] - before["silver"], after["plain"] - before["plain"]) == (88, 8)
    coupons = {name: [c["name"] for c in api.get("me/coupons", me[name]).json()["coupons"]]
               for name in me}
    assert coupons["silver"].count("生日礼 中杯咖啡") == 1  # 银卡's birthday coupon, once
    assert "生日礼 中杯咖啡" not in coupons["plain"]  # 普通会员: 不送券
