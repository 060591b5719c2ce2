"""会员权益 and 偏好标签 in the console (issues 13 and 18), through the real surfaces: an
operator changes a tier discount or adds a member day in the console and the till's
`POST /till/v1/quote` answers with it; a price list CSV with a bad row shows that row's
Chinese reason and changes nothing; a tag rule added and run in the console tags a member
who bought at the till (`POST /till/v1/orders`). Every change audited."""
from __future__ import annotations

import html

from console_helpers import console, logged_in  # noqa: F401
from helpers import member
from sqlalchemy import select
from till_helpers import Till, issue_key, open_store

from wx_member.clock import local_now
from wx_member.models import AuditLog, MemberTag

LATTE = {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}
CAKE = {"sku": "CAKE-1", "name": "芝士蛋糕", "category": "甜点", "quantity": 1,
        "unit_price_fen": 2800}


def _till_and_card(live, openid: str) -> tuple[Till, str]:
    open_store(live, "SH001", "人民广场店")
    live.simulator().subscribe(openid)
    return Till(live, issue_key(live, "SH001").key), member(live, openid).card_no


def _lines(till: Till, card: str) -> list[tuple[int, str | None]]:
    res = till.post("quote", json={"member": {"card_no": card}, "lines": [LATTE, CAKE]})
    assert res.status_code == 200, res.text
    return [(line["amount_fen"], line["benefit"]) for line in res.json()["lines"]]


def _page(b, path: str) -> str:
    return html.unescape(b.get(path).text)


def _actions(live, prefix: str) -> list[str]:
    with live.session() as s, s.read():
        return [a.action for a in s.scalars(select(AuditLog).where(
            AuditLog.action.startswith(prefix)).order_by(AuditLog.id))]


def test_a_tier_discount_changed_in_the_console_changes_the_quote(console):
    till, card = _till_and_card(console, "oTier")
    assert _lines(till, card) == [(6000, None), (2800, None)]
    ops = logged_in(console, "ops", "operator")  # operators read; changing benefits is an admin's
    assert "普通会员" in _page(ops, "/admin/benefits")
    assert ops.post("/admin/benefits/tiers/normal", {"percent": "90"}).status_code == 403
    b = logged_in(console, "root", "admin")
    for bad, reason in (("0", "折扣须为 1–100 的整数"), ("101", "折扣须为 1–100 的整数"),
                        ("9折", "折扣须为 1–100 的整数")):
        b.get("/admin/benefits")
        assert b.post("/admin/benefits/tiers/normal", {"percent": bad}).status_code == 302
        assert f"普通会员：{reason}" in _page(b, "/admin/benefits")
    assert _lines(till, card) == [(6000, None), (2800, None)]  # refused: nothing changed
    b.post("/admin/benefits/tiers/normal", {"percent": "90", "excluded": "甜点，酒水"})
    page = _page(b, "/admin/benefits")
    assert "普通会员的折扣已改为 9折（不参与：甜点、酒水），各门店下一笔起生效。" in page
    row = page.split('id="tier-normal"')[1].split("</tr>")[0]
    assert "9折" in row and "甜点、酒水" in row
    assert _lines(till, card) == [(5400, "tier"), (2800, None)]  # the cake is excluded
    assert _actions(console, "benefits.") == ["benefits.tier_discount"]
    audit_page = _page(b, "/admin/audit")
    assert "修改等级折扣" in audit_page and "折扣：不打折 → 9折" in audit_page
    assert "不参与品类：无 → 甜点、酒水" in audit_page and ">普通会员<" in audit_page


def test_a_member_day_added_in_the_console_changes_the_quote_until_stopped(console):
    till, card = _till_and_card(console, "oDay")
    today = local_now(console.config.tz).date()
    b = logged_in(console, "root", "admin")
    b.get("/admin/benefits")
    b.post("/admin/benefits/days", {"name": "会员日", "kind": "weekday",
                                    "weekday": str(today.isoweekday())})
    assert "会员日须设置折扣或积分倍数。" in _page(b, "/admin/benefits")
    b.post("/admin/benefits/days", {"name": "会员日", "kind": "weekday", "discount": "100",
                                    "weekday": str(today.isoweekday())})
    assert "会员日折扣须为 1–99 的整数" in _page(b, "/admin/benefits")
    assert _lines(till, card) == [(6000, None), (2800, None)]
    b.post("/admin/benefits/days", {"name": "周会员日", "kind": "weekday", "discount": "80",
                                    "points": "200", "weekday": str(today.isoweekday()),
                                    "excluded": "甜点"})
    b.post("/admin/benefits/days", {"name": "月会员日", "kind": "monthday",
                                    "monthday": str(today.day), "tiers": ["gold", "silver"],
                                    "discount": "50"})
    page = _page(b, "/admin/benefits")
    weekday = "一二三四五六日"[today.weekday()]
    assert (f"会员日已生效：月会员日：每月{today.day}日 银卡会员 5折；"
            f"月会员日：每月{today.day}日 金卡会员 5折。") in page  # a row per tier chosen
    assert f"周会员日：每周{weekday} 全部会员 8折 积分×200%（不含 甜点）" in page
    res = till.post("quote", json={"member": {"card_no": card}, "lines": [LATTE, CAKE]})
    got = res.json()
    assert [(line["amount_fen"], line["benefit"]) for line in got["lines"]] == [
        (4800, "member_day"), (2800, None)]  # the silver and gold day is not a 普通会员's
    assert got["points_to_earn"] == (4800 + 2800) // 100 * 2  # the day doubles points
    with console.session() as s, s.read():
        day_id = int(s.scalars(select(AuditLog.target).where(
            AuditLog.action == "benefits.member_day.add").order_by(AuditLog.id)).first())
    b.post(f"/admin/benefits/days/{day_id}/disable")
    page = _page(b, "/admin/benefits")
    assert "会员日「周会员日」已停用" in page
    assert "已停用" in page.split(f'id="day-{day_id}"')[1].split("</tr>")[0]
    assert _lines(till, card) == [(6000, None), (2800, None)]
    assert _actions(console, "benefits.") == ["benefits.member_day.add"] * 3 + [
        "benefits.member_day.disable"]


def test_a_price_list_with_a_bad_row_shows_why_and_changes_nothing(console):
    till, card = _till_and_card(console, "oPrice")
    b = logged_in(console, "root", "admin")
    b.get("/admin/benefits")

    def upload(text: str, encoding: str = "utf-8"):
        return b.post("/admin/benefits/prices",
                      files={"file": ("prices.csv", text.encode(encoding), "text/csv")})

    bad = ("商品编码,会员等级,会员价,原价\nLATTE-M,普通会员,25,30\nCAKE-1,普通会员,30,28\n"
           "拿铁 大杯,银卡会员,20,30\nLATTE-M,银卡会员,26,30\nTEA,金卡会员,abc,\n")
    res = upload(bad)
    assert res.status_code == 400
    page = html.unescape(res.text)
    errors = page.split('id="price-errors"')[1].split("</table>")[0]
    for reason in ("第 3 行：会员价 30.00 元高于原价 28.00 元（CAKE-1 普通会员）",
                   "第 4 行：商品编码格式无效：拿铁 大杯",
                   "第 6 行：会员价须为金额（元，最多两位小数）：abc",
                   "第 5 行：银卡会员价 26.00 元高于普通会员价 25.00 元（第 2 行，LATTE-M）"):
        assert reason in errors
    assert "价目表有 4 行错误，未导入任何价格。" in page
    assert "价目表为空。" in page
    assert _lines(till, card) == [(6000, None), (2800, None)]  # nothing written
    assert _actions(console, "benefits.") == []

    res = upload("商品编码,会员等级,会员价,原价\nLATTE-M,普通会员,25,30\nCAKE-1,silver,20.5,28\n",
                 encoding="gb18030")  # as Excel saves it on a Chinese Windows
    assert res.status_code == 302
    page = _page(b, "/admin/benefits")
    assert "已导入 2 条会员价" in page
    row = page.split('id="price-LATTE-M"')[1].split("</tr>")[0]
    assert "25.00" in row and "—" in row
    assert _lines(till, card) == [(5000, "member_price"), (2800, None)]
    b.post("/admin/benefits/prices/remove", {"sku": "LATTE-M"})
    page = _page(b, "/admin/benefits")
    assert "商品 LATTE-M 已移出价目表（1 个等级的会员价）。" in page
    assert 'id="price-LATTE-M"' not in page and 'id="price-CAKE-1"' in page
    assert _lines(till, card) == [(6000, None), (2800, None)]
    assert "修改会员价" in _page(b, "/admin/audit") and "25.00 元 → 无" in _page(b, "/admin/audit")


def test_a_tag_rule_added_and_run_in_the_console_tags_a_buyer(console):
    till, card = _till_and_card(console, "oFan")
    console.simulator().subscribe("oOnce")
    once = member(console, "oOnce").card_no
    for no, who in (("1", card), ("2", card), ("3", once)):
        res = till.post("orders", json={"member": {"card_no": who}, "order_no": no,
                                        "lines": [LATTE],
                                        "payments": [{"method": "cash", "amount_fen": 6000}]})
        assert res.status_code == 200, res.text
    b = logged_in(console, "ops", "operator")
    b.get("/admin/tag-rules")
    b.post("/admin/tag-rules", {"tag": "拿铁爱好者", "kind": "category", "value": "拿铁",
                                "min_purchases": "两", "within_days": "30"})
    assert "购买次数须为 1–1000。" in _page(b, "/admin/tag-rules")
    b.post("/admin/tag-rules", {"tag": "拿铁爱好者", "kind": "category", "value": "拿铁",
                                "min_purchases": "2", "within_days": "30"})
    page = _page(b, "/admin/tag-rules")
    assert "标签规则已添加：拿铁爱好者：30 天内购买品类「拿铁」至少 2 次" in page
    assert b.post("/admin/tag-rules/run").status_code == 403  # running all rules: an admin
    root = logged_in(console, "root", "admin")
    root.get("/admin/tag-rules")
    root.post("/admin/tag-rules/run")
    page = _page(root, "/admin/tag-rules")
    assert "已按规则更新标签：拿铁爱好者 新增 1 人、移除 0 人。" in page
    (rule_id,) = [int(p.split('"')[0]) for p in page.split('id="rule-')[1:]]
    row = page.split(f'id="rule-{rule_id}"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row and "启用" in row
    fan = member(console, "oFan")
    with console.session() as s, s.read():
        assert [(t.member_id, t.tag) for t in s.scalars(select(MemberTag))] == [
            (fan.id, "拿铁爱好者")]
    assert "拿铁爱好者" in _page(root, f"/admin/members/{fan.id}")
    b.get("/admin/tag-rules")
    b.post(f"/admin/tag-rules/{rule_id}/disable")
    assert "标签规则「拿铁爱好者」已停用" in _page(b, "/admin/tag-rules")
    root.get("/admin/tag-rules")
    root.post("/admin/tag-rules/run")
    assert "移除 1 人" in _page(root, "/admin/tag-rules")
    with console.session() as s, s.read():
        assert list(s.scalars(select(MemberTag))) == []
    assert _actions(console, "tag_rule.") == ["tag_rule.add", "tag_rule.disable"]


def test_store_accounts_and_viewers_cannot_change_benefits_or_tags(console):
    from console_helpers import PASSWORD, Browser

    from wx_member.console import operators

    open_store(console, "SH001", "人民广场店")
    with console.session() as uow:
        operators.create(uow, "sh_boss", PASSWORD, "manager", by="test", store="SH001")
    boss = Browser(console)
    assert boss.login("sh_boss").status_code == 302
    home = boss.get("/admin/").text
    assert "会员权益" not in home and "偏好标签" not in home  # not in a store's menu
    for path in ("/admin/benefits", "/admin/tag-rules"):
        assert boss.get(path).status_code == 403
    assert boss.post("/admin/benefits/tiers/normal", {"percent": "50"}).status_code == 403
    assert boss.post("/admin/tag-rules", {"tag": "x", "kind": "category", "value": "拿铁",
                                          "min_purchases": "1", "within_days": "1"}).status_code == 403
    viewer = logged_in(console, "look", "viewer")
    page = _page(viewer, "/admin/benefits")
    assert "会员权益" in page and 'id="member-day-form"' not in page and "保存" not in page
    assert 'id="tag-rule-form"' not in _page(viewer, "/admin/tag-rules")
    assert viewer.post("/admin/tag-rules", {"tag": "x"}).status_code == 403
    with console.session() as s, s.read():
        assert list(s.scalars(select(AuditLog).where(AuditLog.action.startswith("benefits.")))) == []
