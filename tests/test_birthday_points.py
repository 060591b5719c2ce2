"""Birthday points: once a year in the birthday month, to subscribed members with a
birthday, credited by the daily job (catching up within the month) and before the
birthday push, which says how many were added."""
from __future__ import annotations

from datetime import date

import pytest

from conftest import make_config, serve
from pay_helpers import balance_and_sum, ledger_rows, member
from push_helpers import TEMPLATE_IDS, at, join, plan, send
from wx_member.loyalty import birthday_bonus
from wx_member.members import membership
from wx_member.platform import settings


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS)))


def born(live, **birthdays):
    with live.session() as s, s.begin():
        for openid, day in birthdays.items():
            membership.require(s, openid).birthday = at(f"{day} 12:00")


def credit(live, day: str) -> int:
    with live.session() as s:
        return birthday_bonus.credit(s, date.fromisoformat(day))


def test_birthday_points_once_a_year_in_the_birthday_month(app):
    wx = app.simulator()
    join(wx, ["oA", "oB", "oC", "oD", "oE"], at("2026-04-01 09:00"))
    born(app, oA="1990-05-20", oB="1985-05-03", oD="1992-06-01", oE="1991-05-01")
    wx.unsubscribe("oE")
    assert credit(app, "2026-05-19") == 0  # no tier gives birthday points by default
    with app.session() as s:
        settings.change(s, "tier_normal_birthday_points", 20, by="test")
    assert credit(app, "2026-05-19") == 1  # oB, whose day has come (a missed job caught up)
    assert credit(app, "2026-05-20") == 1  # oA on the day; oB already had hers
    assert credit(app, "2026-05-31") == 0  # every day after: nothing new
    assert [r for r in ledger_rows(app, "oA") if r[1] == "birthday"] == \
        [(20, "birthday", f"birthday:{member(app, 'oA').id}:2026")]
    assert balance_and_sum(app, "oB") == (30, 30)
    # No birthday (oC), another month (oD), unsubscribed (oE): nothing.
    assert [balance_and_sum(app, o)[0] for o in ("oC", "oD", "oE")] == [10, 10, 10]
    assert credit(app, "2027-05-20") == 2  # next year, again once
    assert balance_and_sum(app, "oA") == (50, 50)


def test_birthday_push_says_how_many_points_were_added(app, sandbox):
    wx = app.simulator()
    join(wx, ["oA", "oB"], at("2026-05-01 09:00"))
    born(app, oA="1990-05-20", oB="1990-05-20")
    with app.session() as s:
        settings.change(s, "tier_normal_birthday_points", 25, by="test")
    credit(app, "2026-05-20")
    plan(app, "birthday", at("2026-05-20 10:00"))  # credits first, idempotently
    send(app, at("2026-05-20 10:00"))
    texts = {m["request"]["touser"]: m["request"]["data"]["thing3"]["value"]
             for m in sandbox.sent("template")}
    assert texts == {"oA": "生日快乐！25积分已到账", "oB": "生日快乐！25积分已到账"}
    assert balance_and_sum(app, "oA") == (35, 35)


def test_birthday_push_without_points_keeps_the_perk_text(app, sandbox):
    wx = app.simulator()
    join(wx, ["oA"], at("2026-05-01 09:00"))
    born(app, oA="1990-05-20")
    plan(app, "birthday", at("2026-05-20 10:00"))
    send(app, at("2026-05-20 10:00"))
    (sent,) = sandbox.sent("template")
    assert sent["request"]["data"]["thing3"]["value"] == "生日快乐！凭会员卡到店领取礼遇"
    assert balance_and_sum(app, "oA") == (10, 10)
