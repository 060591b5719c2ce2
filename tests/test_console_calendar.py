"""会员日历 (issue 18): a month of member days and dated earn rules, each local day with what
every tier gets, in Chinese. An admin adds a member day every Wednesday in the console; the
calendar shows it on that month's Wednesdays (and on no other day), and the till's quote,
over HTTP at a Wednesday's time, gives the discount."""
from __future__ import annotations

import calendar as cal
from datetime import date, timedelta

from console_helpers import console, logged_in  # noqa: F401
from helpers import member
from till_helpers import Till, issue_key, open_store

from wx_member.clock import local_now
from wx_member.loyalty import earn_rules
from wx_member.payments import benefits, benefits_view

LATTE = {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}
WEDNESDAY = 3


def cell(html: str, day: date) -> str:
    return html.split(f'id="day-{day}"')[1].split("</td>")[0]


def days_of(year: int, month: int) -> list[date]:
    return [date(year, month, n) for n in range(1, cal.monthrange(year, month)[1] + 1)]


def test_a_member_day_added_in_the_console_is_on_every_wednesday_and_in_the_quote(console):
    open_store(console, "SH001", "人民广场店")
    till = Till(console, issue_key(console, "SH001").key)
    console.simulator().subscribe("oCal")
    card = member(console, "oCal").card_no
    b = logged_in(console, "root", "admin")
    b.get("/admin/benefits")
    b.post("/admin/benefits/days", {"name": "周三会员日", "kind": "weekday", "weekday": "3",
                                    "discount": "80"})
    assert "会员日已生效：周三会员日" in b.get("/admin/benefits").text

    now = local_now(console.config.tz)
    page = b.get("/admin/calendar").text
    assert f"{now.year} 年 {now.month} 月" in page
    for day in days_of(now.year, now.month):
        if day.isoweekday() == WEDNESDAY:
            # The seeded 金卡会员日 (Monday to Wednesday) is gold's too: the till takes
            # the better of the two for gold; every other tier gets this one.
            assert "普通会员、银卡会员、钻石会员：周三会员日 8折" in cell(page, day), day
            assert "金卡会员：金卡会员日 7折；周三会员日 8折" in cell(page, day), day
        else:
            assert "周三会员日" not in cell(page, day), day
    # The phone's list: only days with something on them (this one's Wednesdays and the
    # seeded Monday-to-Wednesday days), each with its date in words.
    listed = page.split('id="calendar-days"')[1].split("</ol>")[0]
    busy = [d for d in days_of(now.year, now.month) if d.isoweekday() <= WEDNESDAY]
    assert listed.count("<li") == len(busy)
    for day in busy:
        item = listed.split(f'id="list-{day}"')[1].split("</li>")[0]
        assert f"{day.month} 月 {day.day} 日 周{'一二三'[day.isoweekday() - 1]}" in item
        assert ("周三会员日 8折" in item) == (day.isoweekday() == WEDNESDAY)

    # Next month: its own Wednesdays.
    nxt = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    page = b.get(f"/admin/calendar?month={nxt:%Y-%m}").text
    assert f"{nxt.year} 年 {nxt.month} 月" in page
    assert all("周三会员日 8折" in cell(page, d) for d in days_of(nxt.year, nxt.month)
               if d.isoweekday() == WEDNESDAY)

    # The till, at the last Wednesday's time (today if it is one; a till may send a time up
    # to 7 days back) and at a day that is not one.
    back = (now.isoweekday() - WEDNESDAY) % 7
    wednesday = now - timedelta(days=back)
    other = wednesday + timedelta(days=1) if back else wednesday - timedelta(days=1)

    def quoted(at) -> int:
        res = till.post("quote", json={"member": {"card_no": card}, "lines": [LATTE],
                                       "at": at.isoformat()})
        assert res.status_code == 200, res.text
        return res.json()["lines"][0]["amount_fen"]

    assert quoted(wednesday) == 4800
    assert quoted(other) == 6000


def test_each_tier_and_earn_rule_on_its_day_in_chinese(console):
    first = local_now(console.config.tz).date().replace(day=1)
    with console.session() as uow:
        for seeded in benefits_view.member_days(uow):  # the café's defaults: out of the way
            benefits.disable_member_day(uow, seeded["id"], by="test")
        benefits.add_member_day(uow, benefits.MemberDaySpec(
            "金卡日", "monthday", 8, "gold", 70, 300, ["酒水"]), by="test")
        benefits.add_member_day(uow, benefits.MemberDaySpec(
            "全员积分日", "monthday", 8, None, None, 150), by="test")
        earn_rules.add_days(uow, first + timedelta(days=9), multiplier=200, name="双倍积分日")
    b = logged_in(console, "vic", "viewer")  # everyone reads
    page = b.get("/admin/calendar").text
    eighth = cell(page, first + timedelta(days=7))
    assert "金卡会员：金卡日 7折（不含 酒水）" in eighth
    assert "普通会员、银卡会员、钻石会员：积分 ×1.5（全员积分日）" in eighth
    assert "金卡会员：积分 ×3（金卡日）" in eighth
    assert "全部会员：积分 ×2（双倍积分日）" in cell(page, first + timedelta(days=9))
    assert "会员日" not in cell(page, first + timedelta(days=8))
    assert b.get("/admin/calendar?month=garbage").status_code == 200
