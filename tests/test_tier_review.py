"""Tier windows and the yearly downgrade review: spend over the last N months, reviewed on
the anniversary of reaching the tier (and not before), once per member and date; `never`
mode changes nothing; refunds in window mode. Payments arrive over HTTP with WeChat's
payment times, which decide both the window and the anniversary."""
from __future__ import annotations

from datetime import date, timezone

from sqlalchemy import select

from pay_helpers import member, tier_history
from push_helpers import at
from test_cli import run
from wx_member.models import Member, TierReview
from wx_member.platform import settings
from wx_member.loyalty import tier_review


def configure(live, **values):
    with live.session() as s:
        for key, value in values.items():
            settings.change(s, key, value, by="test")


def pay(payer, openid, no, fen, local=None):
    extra = {"time_end": local.replace("-", "").replace(" ", "").replace(":", "")} if local else {}
    assert payer.v2_payment(openid, no, fen, **extra).ok


def review(live, day: str, now_local: str):
    with live.session() as s:
        return tier_review.review(s, date.fromisoformat(day), live.config.tz, now=at(now_local))


def reviews(live) -> list[tuple[str, str, str, str, int]]:
    with live.session() as s, s.read():
        return [(m.openid, str(r.review_date), r.from_tier, r.to_tier, r.qualifying_fen)
                for r, m in s.execute(select(TierReview, Member).join(
                    Member, Member.id == TierReview.member_id).order_by(TierReview.id))]


def test_window_review_lowers_on_the_anniversary_and_not_before(live_pay, pay_sim, payer):
    configure(live_pay, tier_window_months=12, tier_review="yearly")
    pay_sim.subscribe("oAnn")
    pay_sim.subscribe("oBen")
    pay(payer, "oAnn", "A1", 30000, "2025-01-15 12:00:00")  # 银卡
    pay(payer, "oAnn", "A2", 30000, "2025-03-10 12:00:00")  # 金卡, reached on 10 March
    pay(payer, "oBen", "B1", 60000, "2025-03-10 09:00:00")  # 金卡 the same day
    pay(payer, "oBen", "B2", 25000, "2026-02-01 09:00:00")  # keeps him there
    assert (member(live_pay, "oAnn").tier, member(live_pay, "oAnn").tier_since) == \
        ("gold", date(2025, 3, 10))

    assert review(live_pay, "2026-03-09", "2026-03-09 00:30").reviewed == 0  # not before
    assert member(live_pay, "oAnn").tier == "gold"

    # The window is the 12 months before the review: A1 has left it, A2 (300 yuan) is in.
    result = review(live_pay, "2026-03-10", "2026-03-10 00:30")
    assert (result.reviewed, dict(result.lowered)) == (2, {("gold", "silver"): 1})
    assert (member(live_pay, "oAnn").tier, member(live_pay, "oAnn").tier_since) == \
        ("silver", date(2026, 3, 10))
    assert member(live_pay, "oBen").tier == "gold"
    assert tier_history(live_pay, "oAnn")[-1] == ("gold", "silver", "review", "review:2026-03-10")
    assert reviews(live_pay) == [("oAnn", "2026-03-10", "gold", "silver", 30000),
                                 ("oBen", "2026-03-10", "gold", "gold", 85000)]

    # Again, later that day, and the daily job catching up two days later: nothing new.
    assert review(live_pay, "2026-03-10", "2026-03-10 18:00").reviewed == 0
    with live_pay.session() as s:
        catch_up = tier_review.review_due(s, live_pay.config.tz, now=at("2026-03-12 00:30"))
    assert sum(r.reviewed for r in catch_up) == 0 and len(reviews(live_pay)) == 2

    # A year on, nobody spent: both drop to what nothing reaches.
    result = review(live_pay, "2027-03-10", "2027-03-10 00:30")
    assert dict(result.lowered) == {("gold", "normal"): 1, ("silver", "normal"): 1}
    assert [h[3] for h in tier_history(live_pay, "oBen")] == \
        ["order:B1", "review:2027-03-10"]


def test_daily_job_reviews_a_missed_anniversary_late(live_pay, pay_sim, payer):
    configure(live_pay, tier_window_months=12, tier_review="yearly")
    pay_sim.subscribe("oCat")
    pay(payer, "oCat", "C1", 60000, "2025-03-10 12:00:00")
    with live_pay.session() as s:  # the scheduler was down on the 10th and the 11th
        tier_review.review_due(s, live_pay.config.tz, now=at("2026-03-12 00:30"))
    assert member(live_pay, "oCat").tier == "normal"
    assert reviews(live_pay) == [("oCat", "2026-03-10", "gold", "normal", 0)]


def test_never_mode_keeps_tiers(live_pay, pay_sim, payer):
    configure(live_pay, tier_window_months=12)  # tier_review stays `never`, the default
    pay_sim.subscribe("oDan")
    pay(payer, "oDan", "D1", 60000, "2025-03-10 12:00:00")
    result = review(live_pay, "2026-03-10", "2026-03-10 00:30")
    with live_pay.session() as s:
        tier_review.review_due(s, live_pay.config.tz, now=at("2026-03-10 00:30"))
    assert (result.mode, result.reviewed) == ("never", 0)
    assert member(live_pay, "oDan").tier == "gold" and reviews(live_pay) == []


def test_cumulative_review_applies_raised_thresholds_at_the_anniversary(live_pay, pay_sim,
                                                                        payer, db_url):
    pay_sim.subscribe("oEve")
    pay(payer, "oEve", "E1", 60000, "2025-06-01 12:00:00")  # 金卡 on cumulative spend
    configure(live_pay, tier_diamond_fen=150000, tier_gold_fen=80000)
    assert member(live_pay, "oEve").tier == "gold"  # a raised threshold takes nobody down...
    out = run("tiers", "review", "--at", "2026-06-01", db_url=db_url)
    assert out.returncode == 0 and "nothing reviewed" in out.stdout  # ...nor `never` mode
    assert run("settings", "set", "tier_review", "yearly", db_url=db_url).returncode == 0
    out = run("tiers", "review", "--at", "2026-06-01", db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert "reviewed 1, lowered 1 (gold→silver: 1)" in out.stdout  # ...until the anniversary
    assert member(live_pay, "oEve").tier == "silver"
    again = run("tiers", "review", "--at", "2026-06-01", db_url=db_url)
    assert "reviewed 0, lowered 0" in again.stdout
    future = run("tiers", "review", "--at", "2099-01-01", db_url=db_url)
    assert future.returncode == 2 and "future" in future.stderr


def test_window_refund_lowers_only_when_it_is_what_breaks_the_tier(live_pay, pay_sim, payer):
    configure(live_pay, tier_window_months=12)
    pay_sim.subscribe("oFay")
    pay_sim.subscribe("oGus")
    pay(payer, "oFay", "F1", 60000, "2025-01-10 12:00:00")  # 金卡 on spend now out of window
    pay(payer, "oFay", "F2", 5000)  # today
    assert payer.v2_refund("F2", "FR2", 5000, 5000).ok
    assert member(live_pay, "oFay").tier == "gold"  # her review decides, not a 50-yuan refund
    pay(payer, "oGus", "G1", 60000)  # today: 金卡
    assert payer.v2_refund("G1", "GR1", 20000, 60000).ok  # 400 yuan left in the window
    assert member(live_pay, "oGus").tier == "silver"
    assert tier_history(live_pay, "oGus")[-1] == ("gold", "silver", "refund", "refund:GR1")


def test_scheduler_runs_the_review_and_birthday_points_after_local_midnight(live):
    from wx_member.scheduler import build_scheduler

    jobs = {job.id: job for job in build_scheduler(live.rt).get_jobs()}
    now = at("2026-03-10 00:00").replace(tzinfo=timezone.utc)
    assert jobs["birthday_points"].trigger.get_next_fire_time(None, now).isoformat() == \
        "2026-03-10T00:20:00+08:00"
    assert jobs["tier_review"].trigger.get_next_fire_time(None, now).isoformat() == \
        "2026-03-10T00:30:00+08:00"


def test_concurrent_reviews_of_one_date_review_each_member_once(live_pay, pay_sim, payer):
    from concurrent.futures import ThreadPoolExecutor

    configure(live_pay, tier_window_months=12, tier_review="yearly")
    openids = [f"oM{i}" for i in range(6)]
    for i, openid in enumerate(openids):
        pay_sim.subscribe(openid)
        pay(payer, openid, f"M{i}", 60000 if i % 2 else 25000, "2025-03-10 12:00:00")

    def run_review(_):
        with live_pay.session() as s:
            return tier_review.review(s, date(2026, 3, 10), live_pay.config.tz,
                                      now=at("2026-03-10 13:00"), batch=2)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run_review, range(4)))
    assert sum(r.reviewed for r in results) == 6
    assert sum(sum(r.lowered.values()) for r in results) == 6  # the payments left the window
    assert sorted(o for o, *_ in reviews(live_pay)) == sorted(openids)
    for openid in openids:
        assert [h[2] for h in tier_history(live_pay, openid)] == ["payment", "review"]
        assert member(live_pay, openid).tier == "normal"
