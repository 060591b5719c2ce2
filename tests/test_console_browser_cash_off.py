"""撤销抵现 on the member page at a desk (1280 px) and on a phone (390 px), in Debian's
headless Chromium (the pattern of test_console_browser_members.py): the operator gives
back the points a till took off an abandoned sale; the console asks first (admin.js's
data-confirm: the CSP refuses inline handlers), a cancelled question gives nothing back,
and once confirmed the points are on the page again, the cash-off marked 已撤销."""
from __future__ import annotations

from sqlalchemy import func, select

from browser_helpers import (app, browser, console_page, fits, login,  # noqa: F401
                             require_chromium, shot, width)
from console_helpers import add_operator
from helpers import member
from wx_member.loyalty import points, redemption
from wx_member.models import PointsLedger

require_chromium()


def test_an_operator_gives_back_a_cash_off_asked_first(browser, app, width):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oAbandoned")
    m = member(app, "oAbandoned")
    with app.session() as uow:
        points.adjust(uow, m, 5000, "测试", key="seed-abandoned", by="test")
        redemption.cash_off(uow, m, "POS-88", 6000)  # 3,000 points = 30 yuan off
    spent = member(app, "oAbandoned").points_balance
    with console_page(browser, width, answers=[False, True]) as page:  # cancel, then OK
        asked = page.dialogs
        login(page, app, "ops")
        page.goto(app.url + f"admin/members/{m.id}")
        row = page.locator("#cash-off-list tbody tr", has_text="POS-88")
        assert "30.00" in row.inner_text() and "3000" in row.inner_text()
        row.get_by_label("撤销原因 POS-88").fill("顾客放弃购买")
        shot(page, "member-cash-offs", width)
        row.get_by_role("button", name="撤销抵现").click()  # asked, and cancelled
        assert page.locator("#points").inner_text() == str(spent)
        row.get_by_role("button", name="撤销抵现").click()  # asked again: OK
        page.get_by_text("已退回 3000 积分（订单 POS-88）。").wait_for()
        assert len(asked) == 2 and all("撤销订单 POS-88 的积分抵现，退回 3000 积分" in a
                                       for a in asked)
        assert page.locator("#points").inner_text() == str(spent + 3000)
        done = page.locator("#cash-off-list tbody tr", has_text="POS-88").inner_text()
        assert "已撤销" in done and "顾客放弃购买" in done
        assert page.get_by_role("button", name="撤销抵现").count() == 0
        assert "撤销积分抵现" in page.locator("#member-audit").inner_text()
        fits(page, width)
        shot(page, "member-cash-off-cancel", width)
    with app.session() as s, s.read():  # given back once: the cancelled question posted nothing
        assert s.scalar(select(func.count()).select_from(PointsLedger)
                        .where(PointsLedger.member_id == m.id,
                               PointsLedger.reason == "redeem_cancel")) == 1
