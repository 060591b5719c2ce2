"""Campaigns and pushes in an operator's words: results counted by outcome with each skip
reason in Chinese, test sends to members picked by card or phone, previews that promise
only what the rules give."""
from __future__ import annotations

import secrets

import pytest

from conftest import make_config, serve
from console_helpers import logged_in
from helpers import member
from push_helpers import TEMPLATE_IDS

from wx_member import scheduler
from wx_member.console import member_admin
from wx_member.models import Member
from wx_member.platform import settings


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS),
                                 secret_key=secrets.token_hex(32), cookie_secure=False))


def _no_quiet_hours(app):
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")


def test_campaign_results_say_why_a_member_was_skipped(app, sandbox):
    _no_quiet_hours(app)
    app.simulator().subscribe("oQuiet")  # never wrote to the account: outside 48 hours
    with app.session() as s:
        member_admin.add_tag(s, member(app, "oQuiet").id, "VIP", "test")
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns/new")
    detail = b.post("/admin/campaigns/new", {
        "name": "会员日", "seg_tag": "VIP", "kind": "campaign", "message": "周六会员日8折。",
        "scheduled_at": "", "action": "create"}).headers["Location"]
    scheduler.build_scheduler(app.rt)
    scheduler.campaigns_job()
    page = b.get(detail).text
    outcome = page.split('id="outcome"')[1].split("</p>")[0]
    assert "已发送 0 人" in outcome and "跳过 1 人" in outcome
    reasons = page.split('id="reasons"')[1].split("</table>")[0]
    assert "超出48小时互动窗口" in reasons and "45015" not in reasons
    assert "会员活动" in page and ">campaign<" not in page


def test_test_send_to_a_member_picked_by_card_or_phone(app, sandbox):
    _no_quiet_hours(app)
    for openid in ("oStaff", "oClerk"):
        app.simulator().subscribe(openid)
        sandbox.interact(openid)
    staff = member(app, "oStaff")
    with app.session() as s, s.begin():
        s.get(Member, member(app, "oClerk").id).phone = "13912345678"
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns?kind=holiday")
    res = b.post("/admin/campaigns/dry-run", {"kind": "holiday", "openids": staff.card_no})
    flash = b.get(res.headers["Location"]).text.split("<main>")[1][:300]
    assert "试发 1 条" in flash and "已发送 1" in flash, flash
    assert [m["request"]["touser"] for m in sandbox.sent("custom")] == ["oStaff"]
    sandbox.clear()
    b.post("/admin/campaigns/dry-run", {"kind": "holiday", "openids": "13912345678"})
    assert [m["request"]["touser"] for m in sandbox.sent("custom")] == ["oClerk"]
    sandbox.clear()
    wrong = staff.card_no[:-1] + str((int(staff.card_no[-1]) + 1) % 10)  # never an openid
    b.post("/admin/campaigns/dry-run", {"kind": "holiday", "openids": wrong})
    assert f"找不到卡号或手机号为 {wrong} 的关注会员" in b.get("/admin/campaigns?kind=holiday").text
    assert sandbox.sent("custom") == []


def test_a_birthday_preview_promises_no_points_the_rule_does_not_give(app):
    app.simulator().subscribe("oBday")
    card = member(app, "oBday").card_no
    b = logged_in(app, "otto", "operator")
    page = b.get(f"/admin/campaigns?kind=birthday&who={card}").text
    preview = page.split('id="preview-body"')[1].split("</div>\n</div>")[0]
    assert "积分已到账" not in preview and "凭会员卡到店领取礼遇" in preview  # 普通会员: no birthday points
    assert '"data"' not in preview and "template_id" not in preview
    with app.session() as s:
        settings.change(s, "tier_normal_birthday_points", 30, "test")
    page = b.get(f"/admin/campaigns?kind=birthday&who={card}").text
    assert "30积分已到账" in page.split('id="preview-body"')[1]


def test_search_by_part_of_a_card_or_phone_and_a_check_digit_hint(app):
    app.simulator().subscribe("oFind")
    m = member(app, "oFind")
    with app.session() as s, s.begin():
        s.get(Member, m.id).phone = "13700001111"
    b = logged_in(app, "vera", "viewer")
    assert "oFind" in b.get(f"/admin/members?q={m.card_no[-6:]}").text
    assert "oFind" in b.get("/admin/members?q=0001111").text
    wrong = m.card_no[:-1] + str((int(m.card_no[-1]) + 1) % 10)
    page = b.get(f"/admin/members?q={wrong}").text
    assert "校验位" in page and f"是否要找 <a" in page and m.card_no in page
    assert "oFind" not in page


def test_the_dashboard_names_push_kinds_in_chinese(app):
    """The dashboard's delivery rates, reach table and reach-trend picker said birthday,
    holiday, …: each kind is its Chinese name there too."""
    from wx_member.clock import utcnow
    from wx_member.models import Delivery

    app.simulator().subscribe("oDash")
    m = member(app, "oDash")
    with app.session() as s, s.begin():
        for kind, status in (("holiday", "sent"), ("birthday", "delivered")):
            s.add(Delivery(member_id=m.id, openid="oDash", kind=kind, occasion=f"{kind}:1",
                           channel="custom" if kind == "holiday" else "template", payload={},
                           status=status, created_at=utcnow(), sent_at=utcnow()))
    b = logged_in(app, "vic", "viewer")
    page = b.get("/admin/").text
    body = page.split("推送送达率", 1)[1]
    assert "节日祝福" in body and "生日礼遇" in body
    for code in ("holiday", "birthday"):
        assert f">{code}<" not in body  # neither a table cell, an option nor a chart label
    page = b.get("/admin/?reach_kind=holiday").text
    assert "触达趋势：节日祝福" in page and 'value="holiday" selected>节日祝福' in page


def test_a_members_pushes_say_what_each_was_for(app):
    """The member page's 场合 read campaign:7, 2026:mid_autumn, order:…: now in words."""
    from wx_member.clock import utcnow
    from wx_member.models import Delivery

    app.simulator().subscribe("oWhy")
    m = member(app, "oWhy")
    with app.session() as s, s.begin():
        for kind, occasion in (("campaign", "campaign:7"), ("holiday", "2026:mid_autumn"),
                               ("points_expiry", "2026-12-31:7d"), ("order_shipped", "order:W1")):
            s.add(Delivery(member_id=m.id, openid="oWhy", kind=kind, occasion=occasion,
                           channel="custom", payload={}, status="sent", created_at=utcnow()))
    page = logged_in(app, "vic", "viewer").get(f"/admin/members/{m.id}").text
    table = page.split("收到的推送")[1].split("</table>")[0]
    for said in ("活动 #7", "2026 年中秋节", "2026-12-31 到期（提前 7 天）", "订单 W1"):
        assert f">{said}</td>" in table, said
    assert ">campaign:7<" not in table and ">2026:mid_autumn<" not in table
