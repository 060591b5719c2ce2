"""The 120-day after-sale care schedule and win-back, end to end: orders paid through WeChat
Pay notifies, members tapping the menu over the webhook, planners run by a frozen clock
day after day (twice a day, as after a scheduler restart), messages through the sandbox."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta, timezone

import pytest

from push_helpers import (at, buy, join, payer, plan, rows, seen, send, sends,  # noqa: F401
                          shop, wx)
from sqlalchemy import func, select

from wx_member.models import Coupon, CouponEvent, Member
from wx_member.pushes.definitions import DefinitionError, load
from wx_member.pushes import planners
from wx_member.platform import settings
from wx_member.platform.errors import InvalidSetting

CARE = ("care_followup", "care_repurchase")


def run_days(app, wx, sandbox, payer, first: date, last: date, kinds, orders=None):
    """The scheduler's day: members active in the morning, each kind's planner at 10:00
    and again at 10:05 (a restart), a send after each; `orders` paid that day after 10:05."""
    day = first
    while day <= last:
        now = at(f"{day} 10:00")
        for openid in ("oA", "oB"):
            seen(wx, sandbox, openid, now - timedelta(hours=1))
        for rerun in (timedelta(0), timedelta(minutes=5)):
            for kind in kinds:
                plan(app, kind, now + rerun)
            send(app, now + rerun)
        for openid, no, when in (orders or {}).get(day, []):
            buy(payer, openid, no, when)
        day += timedelta(days=1)


def test_care_schedule_day_by_day_and_a_new_order_restarts_repurchase(shop, wx, payer, sandbox):
    join(wx, ["oA", "oB"], at("2026-02-27 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-03-01 14:00")  # oA's first order
    buy(payer, "oB", "B1", "2026-03-10 00:30")  # still 9 March in UTC: days are local
    run_days(shop, wx, sandbox, payer, date(2026, 3, 1), date(2026, 8, 9), CARE,
             orders={date(2026, 4, 10): [("oA", "T2", "2026-04-10 18:00")]})  # day 40
    got = sorted((d.openid, d.created_at, d.occasion, d.status) for d in rows(shop))
    expected = sorted(
        [("oA", f"2026-{md} 10:00", occ) for md, occ in [
            ("03-02", "d1:T1"), ("03-08", "d7:T1"), ("03-16", "d15:T1"),  # first order
            ("03-31", "d30:T1"),  # then T2 on day 40: repurchase steps count from it
            ("05-10", "d30:T2"), ("05-25", "d45:T2"), ("06-09", "d60:T2"),
            ("07-09", "d90:T2"), ("08-08", "d120:T2")]]
        + [("oB", f"2026-{md} 10:00", occ) for md, occ in [
            ("03-11", "d1:B1"), ("03-17", "d7:B1"), ("03-25", "d15:B1"), ("04-09", "d30:B1"),
            ("04-24", "d45:B1"), ("05-09", "d60:B1"), ("06-08", "d90:B1"), ("07-08", "d120:B1")]])
    assert got == [(o, at(t), occ, "sent") for o, t, occ in expected]
    # Each exactly once at WeChat: service steps as template messages, the rest as
    # customer-service messages (marketing never goes out as a template message).
    template, custom = sends(sandbox, "template"), sends(sandbox, "custom")
    assert len(template) == 6 and len(custom) == 11
    assert max(Counter(template + custom).values()) == 1
    assert sum("用了一周，感觉如何？" in said for _, said in template) == 2
    assert all(m["request"]["template_id"] == "TPL_CARE" for m in sandbox.sent("template"))
    assert sum("距您上次购买已经一个月啦" in said for _, said in custom) == 3


def test_refunded_first_order_is_no_anchor(shop, wx, payer, sandbox):
    join(wx, ["oA", "oB"], at("2026-02-27 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-03-01 14:00", fen=2000)
    assert payer.v2_refund("T1", "R1", 2000, 2000).ok
    buy(payer, "oA", "T2", "2026-03-03 14:00")
    run_days(shop, wx, sandbox, payer, date(2026, 3, 2), date(2026, 3, 4), CARE)
    assert [(d.occasion, d.created_at) for d in rows(shop)] == [("d1:T2", at("2026-03-04 10:00"))]


def test_a_missed_day_is_made_up_once(shop, wx, payer, sandbox):
    join(wx, ["oA", "oB"], at("2026-02-27 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-03-01 14:00")
    # Nobody led on 2 March (day 1); the 3 March run catches up, later runs add nothing.
    run_days(shop, wx, sandbox, payer, date(2026, 3, 3), date(2026, 3, 6), ["care_followup"])
    assert [(d.occasion, d.created_at) for d in rows(shop)] == [("d1:T1", at("2026-03-03 10:00"))]


def test_winback_after_n_days_once_per_period_and_after_the_care_schedule(shop, wx, payer,
                                                                           sandbox):
    join(wx, ["oA", "oB"], at("2025-12-01 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-01-10 14:00")  # oB never ordered: not a win-back target
    # N = 60 (default); periods 60 and 120 fall inside the care schedule (its last step is
    # day 120), so the first 好久不见 is on day 180, then every 60 days while lapsed.
    expected = {"2026-03-11": 0, "2026-05-10": 0, "2026-07-08": 0, "2026-07-09": 1,
                "2026-07-10": 0, "2026-09-06": 0, "2026-09-07": 1, "2026-09-08": 0}
    for day, planned in expected.items():
        run_days(shop, wx, sandbox, payer, date.fromisoformat(day), date.fromisoformat(day),
                 ["winback"])
        assert plan(shop, "winback", at(f"{day} 10:30")).planned == 0  # re-run: nothing new
    assert [(d.openid, d.occasion, d.created_at, d.status) for d in rows(shop)] == [
        ("oA", "2026-01-10+180d", at("2026-07-09 10:00"), "sent"),
        ("oA", "2026-01-10+240d", at("2026-09-07 10:00"), "sent")]
    [(touser, said), _] = sends(sandbox, "custom")
    assert touser == "oA" and said.startswith("好久不见！") and "优惠券" not in said
    # A new order starts over: nothing 60 days later (the care steps have it).
    buy(payer, "oA", "T2", "2026-09-20 12:00")
    run_days(shop, wx, sandbox, payer, date(2026, 11, 19), date(2026, 11, 19), ["winback"])
    assert len(rows(shop)) == 2


def test_winback_without_the_care_schedule_and_a_changed_n(shop, wx, payer, sandbox):
    join(wx, ["oA", "oB"], at("2025-12-01 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-01-10 14:00")
    pushes = {k: v for k, v in shop.rt.pushes.items() if k != "care_repurchase"}

    def winback(day: str):
        now = at(f"{day} 11:00")
        seen(wx, sandbox, "oA", now - timedelta(hours=1))
        with shop.session() as s:
            return planners.plan(s, pushes, "winback", shop.config, now=now).planned

    assert (winback("2026-03-10"), winback("2026-03-11"), winback("2026-03-12")) == (0, 1, 0)
    with shop.session() as s:
        settings.change(s, "winback_days", 40, by="test")
    # Day 80 is a new 40-day period, but the last 好久不见 was only 30 days ago.
    assert winback("2026-04-10") == 0
    assert winback("2026-04-20") == 1  # day 100: period 80, 40 days after the last one
    assert [d.occasion for d in rows(shop)] == ["2026-01-10+60d", "2026-01-10+80d"]
    with shop.session() as s:
        settings.change(s, "winback_days", 0, by="test")
    assert winback("2026-06-30") == 0  # 0 turns it off


def test_winback_issues_its_coupon_once_and_the_message_names_it(shop, wx, payer, sandbox):
    """Setting winback_coupon_template: each 好久不见 comes with that coupon, issued in the
    planner's transaction under the cause winback:<member>:<occasion>; a re-run issues none."""
    with shop.session() as s:
        settings.change(s, "winback_coupon_template", 2, by="test")  # 满50减10 (migration)
    join(wx, ["oA", "oB"], at("2025-12-01 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-01-10 14:00")
    run_days(shop, wx, sandbox, payer, date(2026, 7, 9), date(2026, 7, 9), ["winback"])
    assert plan(shop, "winback", at("2026-07-09 12:00")).planned == 0
    with shop.session() as s, s.read():
        oa = s.scalar(select(Member.id).where(Member.openid == "oA"))
        got = [(c.member_id, c.cause, c.template_id, c.status, c.issued_at)
               for c in s.scalars(select(Coupon).where(Coupon.cause.like("winback:%")))]
        events = s.scalars(select(CouponEvent.idem_key).where(CouponEvent.reason == "winback")).all()
    assert got == [(oa, f"winback:{oa}:2026-01-10+180d", 2, "available", at("2026-07-09 10:00"))]
    assert events == [f"issue:winback:{oa}:2026-01-10+180d"]
    [(touser, said)] = sends(sandbox, "custom")
    assert touser == "oA" and "送您一张优惠券：满50减10，已放入您的账户。" in said


def test_winback_without_a_coupon_template_or_below_its_tier_offers_nothing(shop, wx, payer,
                                                                            sandbox):
    join(wx, ["oA", "oB"], at("2025-12-01 09:00"), sandbox)
    buy(payer, "oA", "T1", "2026-01-10 14:00")
    buy(payer, "oB", "B1", "2026-01-10 15:00")
    with shop.session() as s, s.read():
        assert settings.get(s, "winback_coupon_template") == 0  # the default: none
    run_days(shop, wx, sandbox, payer, date(2026, 7, 9), date(2026, 7, 9), ["winback"])
    with shop.session() as s:
        settings.change(s, "winback_coupon_template", 4, by="test")  # 满50减20, 金卡 and up
    run_days(shop, wx, sandbox, payer, date(2026, 9, 7), date(2026, 9, 7), ["winback"])
    with shop.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Coupon)
                        .where(Coupon.cause.like("winback:%"))) == 0
    said = [text for _, text in sends(sandbox, "custom")]
    assert len(said) == 4 and not any("优惠券" in text for text in said)


def test_winback_coupon_template_must_exist(shop):
    with shop.session() as s, pytest.raises(InvalidSetting):
        settings.change(s, "winback_coupon_template", 999, by="test")
    with shop.session() as s, s.read():
        assert settings.get(s, "winback_coupon_template") == 0


def test_scheduler_runs_the_order_planners_at_their_hours(shop):
    from wx_member.scheduler import build_scheduler

    jobs = {job.id: job for job in build_scheduler(shop.rt).get_jobs()}
    now = at("2026-05-04 09:30").replace(tzinfo=timezone.utc)
    hours = {kind: jobs[f"plan:{kind}"].trigger.get_next_fire_time(None, now).isoformat()
             for kind in ("order_guide", "care_followup", "care_repurchase", "winback")}
    assert hours == {"order_guide": "2026-05-04T10:00:00+08:00",
                     "care_followup": "2026-05-04T10:00:00+08:00",
                     "care_repurchase": "2026-05-04T10:00:00+08:00",
                     "winback": "2026-05-04T11:00:00+08:00"}
    shipped = jobs["plan:order_shipped"].trigger
    assert shipped.interval == timedelta(minutes=30)


def test_steps_are_checked_at_start_up(tmp_path):
    def load_one(steps: str):
        (tmp_path / "x.toml").write_text(
            'kind="x"\ncategory="service"\nchannel="template"\n'
            '[fields]\nthing1="{{ title }}"\n' + steps, "utf-8")
        return load(tmp_path, {"x": "T"})["x"]

    ok = load_one('[[steps]]\nday=7\ntitle="一周"\n[[steps]]\nday=1\ntitle="一天"\n')
    assert list(ok.steps) == [1, 7] and ok.sample["title"] == "一天"  # dry runs: first step
    for steps, error in [
            ('[[steps]]\nday=0\ntitle="a"\n', "positive integer day"),
            ('[[steps]]\nday=1\ntitle="a"\n[[steps]]\nday=1\ntitle="b"\n', "appears twice"),
            ('[[steps]]\nday=1\ntitle="a"\n[[steps]]\nday=2\n', r"step day 2.*unknown variable"),
            ('[[steps]]\nday=1\ntitle="{{ programme }}"\n', "plain text, not a template"),
            ('[[steps]]\nday=3\ntitle="' + "长" * 21 + '"\n', r"step day 3.*limit of 20")]:
        with pytest.raises(DefinitionError, match=error):
            load_one(steps)
