"""会员权益 and 偏好标签 at a desk (1280 px) and on a phone (390 px), in Debian's headless
Chromium (the pattern of test_console_browser_phone.py): each page fits the screen with its
tables as cards on the phone, and an operator changes a tier discount and adds a member day
in the browser, confirming each, and the till's quote shows it."""
from __future__ import annotations


from browser_helpers import (app, browser, fits, go, login, page, require_chromium,  # noqa: F401
                             shot, width)
from console_helpers import add_operator
from helpers import member
from till_helpers import Till, issue_key, open_store

from wx_member.clock import local_now
from wx_member.console import tag_rules
from wx_member.payments import benefits, price_lists

LATTE = {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}

require_chromium()


def test_the_benefits_and_tag_pages_fit_the_screen(page, app, width):
    add_operator(app, "root", "admin")
    with app.session() as uow:  # a full page: every list has rows
        benefits.set_tier_discount(uow, "diamond", 85, "酒水，礼品卡，季节限定饮品", by="test")
        benefits.add_member_day(uow, benefits.MemberDaySpec(
            "钻石会员专享日", "monthday", 8, "diamond", 80, 200, ["酒水"]), by="test")
        assert not price_lists.import_prices(uow, "sku,tier,price_fen\n"
                                             "COFFEE-BEANS-ETHIOPIA-YIRGACHEFFE-500G,gold,12800\n"
                                             "LATTE-M,silver,2500\n", by="test").errors
        tag_rules.add(uow, "埃塞俄比亚咖啡豆爱好者", "sku",
                      "COFFEE-BEANS-ETHIOPIA-YIRGACHEFFE-500G", 3, 365, by="test")
    login(page, app, "root")
    for name, table, first_label in (("会员权益", "#tier-discounts", "等级"),
                                     ("偏好标签", "#tag-rules", "标签")):
        go(page, width, name)
        page.locator(table).wait_for()
        fits(page, width)
        shot(page, "benefits" if name == "会员权益" else "tag-rules", width)
        if width < 700:  # a table is a list of cards, each value named by its column
            assert page.locator(f"{table} thead").is_hidden()
            cell = page.locator(f"{table} tbody td").first
            assert cell.get_attribute("data-label") == first_label
    page.goto(app.url + "admin/benefits")
    assert "12800" not in page.locator("#prices").inner_text()  # yuan, not fen
    assert "128.00" in page.locator("#prices").inner_text()


def test_an_operator_changes_a_discount_and_adds_a_member_day_seen_at_the_till(page, app, width):
    add_operator(app, "root", "admin")
    open_store(app, "SH001", "人民广场店")
    till = Till(app, issue_key(app, "SH001").key)
    app.simulator().subscribe("oShop")
    card = member(app, "oShop").card_no

    def quoted() -> int:
        res = till.post("quote", json={"member": {"card_no": card}, "lines": [LATTE]})
        assert res.status_code == 200, res.text
        return res.json()["lines"][0]["amount_fen"]

    assert quoted() == 6000
    login(page, app, "root")
    go(page, width, "会员权益")
    row = page.locator("#tier-normal")
    row.get_by_label("普通会员折扣（%）").fill("0")
    row.get_by_role("button", name="保存").click()
    page.get_by_text("普通会员：折扣须为 1–100 的整数").wait_for()
    assert quoted() == 6000
    page.locator("#tier-normal").get_by_label("普通会员折扣（%）").fill("95")
    page.locator("#tier-normal").get_by_role("button", name="保存").click()
    page.get_by_text("普通会员的折扣已改为 9.5折").wait_for()
    assert any("确认修改普通会员的折扣" in d for d in page.dialogs)
    assert quoted() == 5700
    fits(page, width)

    today = local_now(app.config.tz).date()
    form = page.locator("#member-day-form")
    form.get_by_label("会员日名称").fill("周会员日")
    form.get_by_label("每周几").select_option(str(today.isoweekday()))
    form.get_by_label("会员日折扣（%）").fill("80")
    form.get_by_role("button", name="新增会员日").click()
    page.get_by_text("会员日已生效：周会员日").wait_for()
    assert any("确认新增这个会员日" in d for d in page.dialogs)
    assert quoted() == 4800
    page.locator("#member-days tr", has_text="周会员日").get_by_role("button", name="停用").click()
    page.get_by_text("会员日「周会员日」已停用").wait_for()
    assert quoted() == 5700
    fits(page, width)
    shot(page, "benefits-changed", width)
