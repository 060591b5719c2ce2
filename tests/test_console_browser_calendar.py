"""会员日历 and retiring a channel code at a desk (1280 px) and on a phone (390 px), in
Debian's headless Chromium (the pattern of test_console_browser_benefits.py): an admin adds
a member day every Wednesday, the calendar shows it on the month's Wednesdays (a grid at a
desk, a list of days on a phone) and the till's quote at a Wednesday's time gives it; an
operator retires a channel code, confirming, and a scan of the printed code still makes a
member counted to it while the list hides it unless asked."""
from __future__ import annotations

import calendar as cal
from datetime import date, timedelta

from browser_helpers import (app, browser, fits, go, login, page, make_channel,  # noqa: F401
                             require_chromium, shot, width)
from console_helpers import add_operator
from helpers import member
from till_helpers import Till, issue_key, open_store

from wx_member.clock import local_now
from wx_member.insights import channel_view

LATTE = {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}
WEDNESDAY = 3

require_chromium()


def test_a_member_day_on_the_calendar_and_at_the_till(page, app, width):
    add_operator(app, "root", "admin")
    open_store(app, "SH001", "人民广场店")
    till = Till(app, issue_key(app, "SH001").key)
    app.simulator().subscribe("oCal")
    card = member(app, "oCal").card_no
    login(page, app, "root")
    go(page, width, "会员权益")
    form = page.locator("#member-day-form")
    form.get_by_label("会员日名称").fill("周三会员日")
    form.get_by_label("每周几").select_option(str(WEDNESDAY))
    form.get_by_label("会员日折扣（%）").fill("80")
    form.get_by_role("button", name="新增会员日").click()
    page.get_by_text("会员日已生效：周三会员日").wait_for()

    go(page, width, "会员日历")
    now = local_now(app.config.tz)
    page.get_by_text(f"{now.year} 年 {now.month} 月").wait_for()
    wednesdays = [date(now.year, now.month, n) for n in range(1, cal.monthrange(
        now.year, now.month)[1] + 1) if date(now.year, now.month, n).isoweekday() == WEDNESDAY]
    if width < 700:  # a list of the days with something on them, no grid
        assert page.locator("#calendar").is_hidden()
        for day in wednesdays:
            item = page.locator(f"#list-{day}")
            assert item.is_visible()
            assert f"{day.month} 月 {day.day} 日 周三" in item.inner_text()
            assert "周三会员日 8折" in item.inner_text()
    else:
        assert page.locator("#calendar-days").is_hidden()
        for day in wednesdays:
            assert "周三会员日 8折" in page.locator(f"#day-{day}").inner_text()
        thursday = wednesdays[0] + timedelta(days=1)
        assert "周三会员日" not in page.locator(f"#day-{thursday}").inner_text()
    fits(page, width)
    shot(page, "calendar", width)
    page.get_by_role("link", name="下个月 ›").click()
    nxt = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    page.get_by_text(f"{nxt.year} 年 {nxt.month} 月").wait_for()
    fits(page, width)

    back = (now.isoweekday() - WEDNESDAY) % 7  # the last Wednesday: a till may send 7 days back
    res = till.post("quote", json={"member": {"card_no": card}, "lines": [LATTE],
                                   "at": (now - timedelta(days=back)).isoformat()})
    assert res.status_code == 200, res.text
    assert res.json()["lines"][0]["amount_fen"] == 4800


def test_an_operator_retires_a_channel_code_and_brings_it_back(page, app, sandbox, width):
    add_operator(app, "ops", "operator")
    login(page, app, "ops")
    scene = make_channel(page, width, "秋季海报", "poster")
    assert sandbox.sent("qrcode")[0]["request"]["action_info"]["scene"]["scene_str"] == scene
    page.locator("#channels").get_by_role("link", name="查看").click()
    page.get_by_role("button", name="停用渠道码").click()
    page.get_by_text("渠道码「秋季海报」已停用").wait_for()
    assert any("确认停用渠道码「秋季海报」" in d for d in page.dialogs)
    assert page.locator("#retired").is_visible()
    assert page.get_by_label("渠道名称").count() == 0  # no more edits
    fits(page, width)
    shot(page, "channel-retired", width)

    app.simulator().subscribe("oLate", scene=scene)  # the printed code still works
    assert member(app, "oLate").scene == scene
    go(page, width, "渠道码")
    assert "秋季海报" not in page.locator("#channels").inner_text()
    page.get_by_label("渠道码状态").select_option("retired")
    page.get_by_role("button", name="筛选").click()
    row = page.locator(f"#channel-{scene}")
    row.wait_for()
    assert "已停用" in row.inner_text() and "秋季海报" in row.inner_text()
    with app.session() as s:
        [report] = channel_view.channel_report(s, retired=True)
    assert report.joins == 1
    fits(page, width)
    shot(page, "channels-retired", width)

    # Brought back: asked first, listed again and editable.
    row.get_by_role("link", name="查看").click()
    page.get_by_role("button", name="恢复使用").click()
    page.get_by_text("渠道码「秋季海报」已恢复使用").wait_for()
    assert any("确认恢复使用渠道码「秋季海报」" in d for d in page.dialogs)
    assert page.get_by_label("渠道名称").count() == 1
    go(page, width, "渠道码")
    assert "秋季海报" in page.locator("#channels").inner_text()
    fits(page, width)
