"""Console members: search, profile, points adjustment (audited, once per form), tags, CSV."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import csv
import io
import re
from datetime import datetime

from console_helpers import Browser, console, logged_in  # noqa: F401
from helpers import balance_and_sum, member

from wx_member.models import AuditLog, Delivery, MemberTag
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice


def seed(console):
    sim = console.simulator()
    for openid in ("oAnna", "oBen", "oCleo"):
        sim.subscribe(openid, scene=None)
    with console.session() as s:
        with s.begin():
            ben = member(console, "oBen")
            s.get(type(ben), ben.id).phone = "13800138000"
            s.add(Delivery(member_id=ben.id, openid="oBen", kind="holiday", occasion="2026:mid_autumn",
                           channel="custom", payload={}, status="delivered"))
        orders.record_payment(s, PaymentNotice("v2", "T1001", "wx1", "oBen", 25000,
                                               datetime(2026, 11, 1, 2, 0), True),
                             tz=ZoneInfo("Asia/Shanghai"))
    return {o: member(console, o) for o in ("oAnna", "oBen", "oCleo")}


def test_search_by_card_phone_openid_and_profile(console):
    people = seed(console)
    b = logged_in(console, "olga", "viewer")
    by_card = b.get(f"/admin/members?q={people['oAnna'].card_no}").text
    assert "oAnna" in by_card and "oBen" not in by_card
    assert "oBen" in b.get("/admin/members?q=13800138000").text
    by_prefix = b.get("/admin/members?q=oCl").text
    assert "oCleo" in by_prefix and "oAnna" not in by_prefix
    bad_check_digit = people["oAnna"].card_no[:-1] + str((int(people["oAnna"].card_no[-1]) + 1) % 10)
    assert "oAnna" not in b.get(f"/admin/members?q={bad_check_digit}").text
    page = b.get(f"/admin/members/{people['oBen'].id}").text
    for shown in ("T1001", "250.00", "银卡会员", "消费积分", "入会礼", "2026:mid_autumn", "已送达"):
        assert shown in page, shown
    assert "调整积分" not in page  # a viewer sees no forms that change things


def test_points_adjustment_once_per_form_with_reason_and_audit(console):
    anna = seed(console)["oAnna"]
    b = logged_in(console, "oscar", "operator")
    page = b.get(f"/admin/members/{anna.id}").text
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    path = f"/admin/members/{anna.id}/points"
    assert b.post(path, {"delta": "5", "note": "", "key": key}).status_code == 302
    assert "请填写调整数量" in b.get(f"/admin/members/{anna.id}").text
    assert balance_and_sum(console, "oAnna") == (10, 10)
    for _ in range(2):  # a double submit of one form
        b.post(path, {"delta": "25", "note": "投诉补偿", "key": key})
    assert balance_and_sum(console, "oAnna") == (35, 35)
    assert "该调整已提交过" in b.get(f"/admin/members/{anna.id}").text
    b.post(path, {"delta": "-100", "note": "兑换", "key": "k" * 16})
    assert "积分不足" in b.get(f"/admin/members/{anna.id}").text
    assert balance_and_sum(console, "oAnna") == (35, 35)
    with console.session() as s, s.read():
        row = s.query(AuditLog).filter_by(action="points.adjust").one()
        assert (row.actor, row.target) == ("oscar", anna.card_no)
        assert row.before == {"points": 10} and row.after["points"] == 35
        assert row.after["reason"] == "投诉补偿"
    assert "oscar: 投诉补偿" in b.get(f"/admin/members/{anna.id}").text


def test_viewer_cannot_adjust_points(console):
    anna = seed(console)["oAnna"]
    b = logged_in(console, "vic", "viewer")
    res = b.post(f"/admin/members/{anna.id}/points", {"delta": "5", "note": "x", "key": "a" * 16})
    assert res.status_code == 403
    assert balance_and_sum(console, "oAnna") == (10, 10)


def test_tags_and_export_csv(console):
    people = seed(console)
    b = logged_in(console, "tess", "operator")
    ben = people["oBen"]
    b.get(f"/admin/members/{ben.id}")
    b.post(f"/admin/members/{ben.id}/tags", {"tag": "VIP"})
    b.post(f"/admin/members/{ben.id}/tags", {"tag": "VIP"})  # twice: one tag
    b.post(f"/admin/members/{people['oAnna'].id}/tags", {"tag": "=cmd()"})  # refused
    assert "标签须为" in b.get(f"/admin/members/{people['oAnna'].id}").text
    with console.session() as s, s.read():
        assert [(t.member_id, t.tag) for t in s.query(MemberTag)] == [(ben.id, "VIP")]
    listed = b.get("/admin/members?tag=VIP").text
    assert "oBen" in listed and "oAnna" not in listed
    res = b.post("/admin/members/export", {"tag": "VIP"})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["卡号", "openid", "姓名", "手机号"]  # operators' column names
    assert [r[1] for r in rows[1:]] == ["oBen"] and rows[1][4] == "银卡会员" and rows[1][-1] == "VIP"
    everyone = b.post("/admin/members/export", {"tag": ""}).content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(everyone)))) == 4
    b.post(f"/admin/members/{ben.id}/tags", {"remove": "VIP"})
    with console.session() as s, s.read():
        assert s.query(MemberTag).count() == 0
        actions = [a.action for a in s.query(AuditLog).order_by(AuditLog.id)
                   if a.action.startswith("member.")]
    assert actions == ["member.tag", "member.export", "member.export", "member.untag"]


def test_dashboard_shows_kpis_and_svg_charts(console):
    seed(console)
    b = logged_in(console, "val", "viewer")
    page = b.get("/admin/?days=7&conversion_days=10&churn_days=60")
    assert page.status_code == 200
    assert "<svg" in page.text and "每日新会员" in page.text and "最近 7 天" in page.text
    assert "转化率（N=10 天）" in page.text and "流失率（N=60 天）" in page.text
    assert "RFM 分群" in page.text and "重要价值" in page.text
    assert "银卡会员" in page.text  # tier distribution
    # Nothing is loaded from another host: every script, style and image is the console's.
    assert re.findall(r'(?:src|href)="(?:https?:)?//', page.text) == []
