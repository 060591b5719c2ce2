"""Dated earn rules: member days and double-points days multiply what a payment earns, on
the payment's local day; the highest rule wins; one floor at the end; refunds take back
what the order actually earned. Payments arrive as WeChat Pay notifies over HTTP."""
from __future__ import annotations

import json
from datetime import date

import pytest

from pay_helpers import balance_and_sum, ledger_rows, member, order, refunds
from test_cli import run
from wx_member.models import EarnRule
from wx_member.loyalty import earn_rules
from wx_member.platform import settings
from wx_member.loyalty import tiers
from wx_member.loyalty.earn_rules import InvalidRule

TUESDAY, WEDNESDAY = date(2026, 11, 24), date(2026, 11, 25)


def time_end(local: str) -> str:
    """'2026-11-24 10:00:00' (Beijing, as WeChat Pay writes time_end) → '20261124100000'."""
    return local.replace("-", "").replace(" ", "").replace(":", "")


def purchases(live, openid) -> list[int]:
    return [d for d, reason, _ in ledger_rows(live, openid) if reason == "purchase"]


def test_member_day_payment_earns_double(live_pay, pay_sim, payer, db_url):
    pay_sim.subscribe("oAnn")
    with live_pay.session() as s:
        rule = earn_rules.add_weekday(s, 2, multiplier=200, name="会员日")  # every Tuesday
    assert payer.v2_payment("oAnn", "T1", 5000, time_end=time_end("2026-11-24 12:00:00")).ok
    assert payer.v2_payment("oAnn", "W1", 5000, time_end=time_end("2026-11-25 12:00:00")).ok
    assert purchases(live_pay, "oAnn") == [100, 50]
    tuesday, wednesday = order(live_pay, "T1"), order(live_pay, "W1")
    assert (tuesday.earn_multiplier, tuesday.earn_rule_id, tuesday.points_earned) == \
        (200, rule.id, 100)
    assert (wednesday.earn_multiplier, wednesday.earn_rule_id) == (100, None)
    assert balance_and_sum(live_pay, "oAnn") == (160, 160)
    shown = json.loads(run("member", "show", "oAnn", "--json", db_url=db_url).stdout)
    assert [(o["out_trade_no"], o["earn_multiplier"]) for o in shown["orders"]] == \
        [("W1", 100), ("T1", 200)]


def test_overlapping_rules_highest_multiplier_wins_and_one_floor(live_pay, pay_sim, payer):
    pay_sim.subscribe("oBen")
    with live_pay.session() as s:
        earn_rules.add_weekday(s, 2, multiplier=200)
        triple = earn_rules.add_days(s, TUESDAY, WEDNESDAY, multiplier=300, name="双十二预热")
    # 19.99 yuan × 300 % = 59.97 → 59 (a floor before multiplying would give 3 × 19 = 57),
    # and the 200 % member day is not stacked on top (that would be 119).
    assert payer.v2_payment("oBen", "B1", 1999, time_end=time_end("2026-11-24 09:00:00")).ok
    assert (order(live_pay, "B1").earn_multiplier, purchases(live_pay, "oBen")) == (300, [59])
    with live_pay.session() as s:
        earn_rules.disable(s, triple.id, by="test")
    assert payer.v2_payment("oBen", "B2", 1999, time_end=time_end("2026-11-24 10:00:00")).ok
    assert payer.v2_payment("oBen", "B3", 1999, time_end=time_end("2026-11-25 10:00:00")).ok
    assert purchases(live_pay, "oBen") == [59, 39, 19]  # member day only; then no rule
    assert order(live_pay, "B1").earn_multiplier == 300  # the order keeps what it earned


def test_rules_follow_the_local_day_across_midnight(live_pay, pay_sim, payer):
    pay_sim.subscribe("oCid")
    with live_pay.session() as s:
        earn_rules.add_weekday(s, 2, multiplier=200)  # Tuesday in Asia/Shanghai
    # v3 success_time may carry any offset; the day is the programme zone's
    cases = [("M", "2026-11-23T23:59:59+08:00", 1), ("T0", "2026-11-24T00:00:00+08:00", 2),
             # 16:00 UTC on Monday is already 00:00 on Tuesday in Shanghai
             ("TU", "2026-11-23T16:00:00+00:00", 2), ("T9", "2026-11-24T23:59:59+08:00", 2),
             ("W0", "2026-11-25T00:00:00+08:00", 1)]
    for no, when, _ in cases:
        resource = payer.v3_payment_resource("oCid", no, 1000, success_time=when)
        assert payer.v3_notify("TRANSACTION.SUCCESS", resource).status == 204
    assert purchases(live_pay, "oCid") == [10 * factor for _, _, factor in cases]


def test_refund_after_a_double_day_takes_back_what_was_earned(live_pay, pay_sim, payer):
    pay_sim.subscribe("oDee")
    with live_pay.session() as s:
        rule = earn_rules.add_days(s, TUESDAY, multiplier=200)
    assert payer.v2_payment("oDee", "D1", 10001, time_end=time_end("2026-11-24 20:00:00")).ok
    assert order(live_pay, "D1").points_earned == 200  # 100.01 yuan × 2 = 200.02 → 200
    with live_pay.session() as s:
        earn_rules.disable(s, rule.id, by="test")  # changes nothing for the order
    assert payer.v2_refund("D1", "DR1", 2500, 10001).ok  # a quarter: floor(200 × 2500/10001)
    assert [r.points_reversed for r in refunds(live_pay, "D1")] == [49]
    assert payer.v2_refund("D1", "DR2", 7501, 10001).ok  # the rest: exactly what it earned
    assert [r.points_reversed for r in refunds(live_pay, "D1")] == [49, 151]
    assert order(live_pay, "D1").points_reversed == 200
    assert balance_and_sum(live_pay, "oDee") == (10, 10)  # the sign-up points are left


@pytest.mark.parametrize("make", [
    lambda s: earn_rules.add_days(s, WEDNESDAY, TUESDAY),  # ends before it starts
    lambda s: earn_rules.add_days(s, TUESDAY, multiplier=100),  # no boost
    lambda s: earn_rules.add_days(s, TUESDAY, multiplier=2000),  # a typo for 200
    lambda s: earn_rules.add_weekday(s, 8),
    lambda s: earn_rules.add_weekday(s, earn_rules.parse_weekday("someday")),
    lambda s: earn_rules.add_days(s, TUESDAY, name=" "),
    lambda s: earn_rules.disable(s, 999),
])
def test_bad_rules_are_refused_and_nothing_is_written(session, make):
    with pytest.raises(InvalidRule):
        make(session)
    with session.read():
        assert session.query(EarnRule).count() == 0


def test_weekday_names(session):
    assert [earn_rules.parse_weekday(t) for t in ("2", "tue", "Tuesday", "周二", "sun")] == \
        [2, 2, 2, 2, 7]


def test_weekday_rule_with_dates_and_rounding_at_silver(session):
    earn_rules.add_weekday(session, 2, multiplier=150, starts_on=date(2026, 12, 1))
    settings.change(session, "points_per_yuan", 2, by="test")
    with session.read():
        assert earn_rules.multiplier_on(session, TUESDAY).percent == 100  # not yet
        m = earn_rules.multiplier_on(session, date(2026, 12, 1))
        assert m.percent == 150
        # 19.99 yuan × 2 per yuan × 120 % × 150 % = 71.964 → 71
        assert tiers.points_for(session, 1999, "silver", m.percent) == 71


def test_rules_cli_add_list_disable(live, db_url):
    out = run("rules", "add-weekday", "tue", "--multiplier", "200", db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert "every Tuesday ×200%" in out.stdout
    assert run("rules", "add-day", "2026-11-11", "2026-11-12", "--multiplier", "300",
               "--name", "双十一", db_url=db_url).returncode == 0
    listed = run("rules", "list", db_url=db_url).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["1", "2"]
    assert "双十一: 2026-11-11 to 2026-11-12 ×300%" in listed[1]
    assert run("rules", "disable", "2", db_url=db_url).returncode == 0
    assert len(run("rules", "list", db_url=db_url).stdout.splitlines()) == 1
    assert "disabled" in run("rules", "list", "--all", db_url=db_url).stdout
    bad = run("rules", "add-day", "2026-11-12", "2026-11-11", db_url=db_url)
    assert bad.returncode == 2 and "before it starts" in bad.stderr
    assert len(run("rules", "list", "--all", db_url=db_url).stdout.splitlines()) == 2
