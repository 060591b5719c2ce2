"""The console in an operator's words: rules by Chinese label with Chinese choices, money in
yuan (stored in fen), coupon templates by name, readable audit entries."""
from __future__ import annotations

import re

from console_helpers import console, logged_in  # noqa: F401
from helpers import member

from wx_member.models import AuditLog, Channel, Member
from wx_member.platform import settings


def test_rules_read_in_chinese_with_yuan_and_choices(console):
    b = logged_in(console, "root", "admin")
    page = b.get("/admin/rules").text
    table = page.split('id="rules"')[1].split("</table>")[0]
    for english in (">points_expiry_mode<", ">fixed<", ">never<", "分钱", "(fixed", "never 不降级"):
        assert english not in table, english
    assert "积分有效期方式" in table and "滚动有效期（按月数）" in table
    assert "积分抵现：多少积分抵 1 元" in table and "100 积分" in table
    assert "0.00 元" in table and "200.00 元" not in table  # money in yuan; tiers: own page
    assert "会员等级的门槛" in page  # the tier rules are linked, on the tiers screen
    assert "10元代金券" in table or "满" in table  # the sign-up coupon by name

    # Money typed in yuan, stored in fen; the audit shows both sides in yuan.
    assert b.post("/admin/rules", {"key": "tier_silver_fen", "value": "300"}).status_code == 302
    assert "银卡门槛（累计消费） 已改为 300.00 元" in b.get("/admin/rules").text
    with console.session() as s, s.read():
        assert settings.get(s, "tier_silver_fen") == 30000
    audit = b.get("/admin/audit").text
    assert "200.00 元 → 300.00 元" in audit and "银卡门槛（累计消费）" in audit

    # A choice by its Chinese word; a word that is not offered is refused.
    b.post("/admin/rules", {"key": "tier_review", "value": "yearly"})
    assert "已改为 每年在升级周年日复核" in b.get("/admin/rules").text
    b.post("/admin/rules", {"key": "points_expiry_mode", "value": "7"})
    assert "积分有效期方式：请从列表中选择" in b.get("/admin/rules").text
    with console.session() as s, s.read():
        assert settings.get(s, "points_expiry_mode") == 1


def test_a_threshold_under_ten_yuan_is_refused_with_the_reason(console):
    b = logged_in(console, "root", "admin")
    b.get("/admin/rules")
    b.post("/admin/rules", {"key": "tier_silver_fen", "value": "2"})  # ¥2: fen typed for yuan
    assert "等级门槛不能低于 10 元" in b.get("/admin/rules").text
    b.post("/admin/rules", {"key": "tier_gold_fen", "value": "abc"})
    assert "请按元填写金额" in b.get("/admin/rules").text
    with console.session() as s, s.read():
        assert s.query(AuditLog).filter_by(action="setting.change").count() == 0


def test_audit_and_member_records_read_before_and_after(console):
    console.simulator().subscribe("oRec")
    m = member(console, "oRec")
    b = logged_in(console, "oscar", "operator")
    page = b.get(f"/admin/members/{m.id}").text
    assert 'name="key"' in page, page[-3000:]
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    b.post(f"/admin/members/{m.id}/points", {"delta": "5", "note": "门店补发", "key": key})
    b.post(f"/admin/members/{m.id}/tags", {"tag": "常客"})
    for path in ("/admin/audit", f"/admin/members/{m.id}"):
        text = b.get(path).text
        assert "积分：10 → 15" in text and "原因：门店补发" in text and "常客" in text, path
        assert "\\u" not in text and '{"points"' not in text, path


def test_menu_click_keys_come_from_what_the_handlers_answer(console, sandbox):
    b = logged_in(console, "root", "admin")
    page = b.get("/admin/menu").text
    assert '<option value="CHECKIN">签到</option>' in page
    res = b.post("/admin/menu", {"b0_name": "签到", "b0_type": "click", "b0_value": "MADE_UP",
                                 "action": "publish"})
    assert "点击事件「MADE_UP」没有对应的功能（可选：签到、查积分、会员卡）" in res.text
    assert sandbox.sent("menu") == []


def test_a_channel_named_in_chinese_gets_a_scene_made_for_it(console, sandbox):
    b = logged_in(console, "ops", "operator")
    b.get("/admin/channels")
    res = b.post("/admin/channels", {"scene": "南京东路店", "name": "南京东路店", "kind": "store",
                                     "days": "7"})
    assert "场景值只能用字母、数字" in res.text and "scene must" not in res.text
    assert sandbox.sent("qrcode") == []
    res = b.post("/admin/channels", {"scene": "", "name": "南京东路店", "kind": "store", "days": "7"})
    assert res.status_code == 302
    with console.session() as s, s.read():
        channel = s.query(Channel).one()
    assert channel.name == "南京东路店" and re.fullmatch(r"store_[0-9a-f]{6}", channel.scene)
    [sent] = sandbox.sent("qrcode")
    assert sent["request"]["action_info"]["scene"]["scene_str"] == channel.scene
    assert f"渠道码 {channel.scene} 已创建。" in b.get("/admin/channels").text


def test_exported_csv_has_chinese_columns_and_imports_back_by_card(console):
    console.simulator().subscribe("oRound")
    m = member(console, "oRound")
    b = logged_in(console, "ops", "operator")
    b.get("/admin/members")
    exported = b.post("/admin/members/export", {"tag": ""}).content.decode("utf-8-sig")
    header, row = [line.split(",") for line in exported.strip().splitlines()[:2]]
    assert header[:5] == ["卡号", "openid", "姓名", "手机号", "等级"] and row[0] == m.card_no
    edited = f"卡号,姓名,手机号,标签\n{m.card_no},Round Robin,13600002222,回头客\n"  # no openid
    b.get("/admin/members/import")
    res = b.post("/admin/members/import", files={"file": ("m.csv", edited.encode("utf-8"))})
    assert res.status_code == 200 and "新建会员 0，更新 1" in res.text
    with console.session() as s, s.read():
        assert (s.get(Member, m.id).phone, s.get(Member, m.id).name) == (
            "13600002222", "Round Robin")


def test_a_channel_code_is_viewed_with_its_caption_renamed_and_renewed(console, sandbox):
    b = logged_in(console, "ops", "operator")
    b.get("/admin/channels")
    b.post("/admin/channels", {"scene": "shop_9", "name": "旧名", "kind": "store", "days": "3"})
    page = b.get("/admin/channels/shop_9").text
    assert '<img src="/admin/channels/shop_9/qrcode.png"' in page and "微信扫码关注，即成为会员" in page
    assert b.get("/admin/channels/shop_9/qrcode.png").content.startswith(b"\x89PNG")
    b.post("/admin/channels/shop_9", {"name": "南京东路店", "kind": "poster"})
    assert "渠道码已修改" in b.get("/admin/channels/shop_9").text
    with console.session() as s, s.read():
        c = s.query(Channel).filter_by(scene="shop_9").one()
        old_ticket, old_expiry = c.ticket, c.expires_at
    assert (c.name, c.kind) == ("南京东路店", "poster")
    b.post("/admin/channels/shop_9", {"action": "renew", "days": "30"})
    assert "渠道码已续期 30 天" in b.get("/admin/channels/shop_9").text
    with console.session() as s, s.read():
        c = s.query(Channel).filter_by(scene="shop_9").one()
    assert c.ticket != old_ticket and c.expires_at > old_expiry
    assert [m["request"]["expire_seconds"] for m in sandbox.sent("qrcode")] == [3 * 86400, 30 * 86400]
    audit = b.get("/admin/audit").text
    assert "名称：旧名 → 南京东路店" in audit and "类型：门店 → 海报" in audit and "续期渠道码" in audit
    assert b.get("/admin/channels/nope").status_code == 404


def test_every_rule_has_a_chinese_label_on_the_rules_page(console):
    """No rule is shown by its key (mass_sends_per_month was): the key only as a tooltip."""
    b = logged_in(console, "vic", "viewer")
    table = b.get("/admin/rules").text.split('id="rules"')[1].split("</table>")[0]
    shown = re.sub(r"<[^>]+>", " ", table)  # the words on screen, not the attributes
    assert "每位粉丝每月最多收到群发" in shown
    keys = [k for k in settings.DEFAULTS if k in table]  # the rules this page lists
    assert "mass_sends_per_month" in keys
    for key in keys:
        assert key not in shown, key


def test_the_audit_log_names_stores_keys_and_objects_in_chinese(console):
    """Store and till-key entries read 城市/地址/状态 营业中 → 已关闭/收银台, objects read
    礼品 #1 or 券模板「…」, never city:, open, gift:1 or coupon_template:2."""
    b = logged_in(console, "root", "admin")
    b.get("/admin/stores")
    b.post("/admin/stores", {"new-code": "SH1", "new-name": "一店", "new-city": "上海",
                             "new-address": "南京东路 1 号"})
    b.get("/admin/stores/SH1")
    b.post("/admin/stores/SH1/edit", {"edit-name": "一店", "edit-city": "上海",
                                      "edit-address": "南京东路 1 号", "edit-status": "closed"})
    b.get("/admin/stores")
    b.post("/admin/gifts", {"name": "帆布袋", "points": "60", "stock": "3"})
    b.post("/admin/coupons/2/active", {"active": "0"})
    table = b.get("/admin/audit").text.split('id="audit"')[1].split("</table>")[0]
    shown = re.sub(r"<[^>]+>", " ", table)
    for said in ("城市：上海", "地址：南京东路 1 号", "状态：营业中 → 已关闭", "礼品 #", "券模板「"):
        assert said in shown, said
    for code in ("city：", "address：", "gift:", "coupon_template:", " open "):
        assert code not in shown, code
