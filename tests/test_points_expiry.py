"""Points expiry: lots stamped by the mode in force when earned, the daily run (FIFO,
idempotent, set-based), the year boundary in the programme's zone, what lapses next."""
from __future__ import annotations

import json
from datetime import timedelta, timezone

import pytest

from conftest import make_config, serve
from points_helpers import (SHANGHAI, at, balance_and_sum, configure, earn, expire,
                            expiry_rows, join, local_end, lot, spend)
from push_helpers import TEMPLATE_IDS, send
from push_helpers import join as wx_join
from push_helpers import plan
from test_cli import run as cli
from wx_member.models import PointsLedger
from wx_member.members import checkin
from wx_member.members import membership
from wx_member.loyalty import points
from wx_member.loyalty import expiry_run, points_expiry
from wx_member.platform.errors import InvalidSetting


def test_rolling_lot_lapses_at_the_end_of_the_local_day_n_months_on(session):
    m = join(session, "oR", at("2026-03-31 10:00"))  # default: rolling, 12 months
    assert lot(session, f"signup:{m.id}").expires_at == local_end("2027-03-31")
    configure(session, points_expiry_months=1)
    # 01:30 in Shanghai is still the previous day in UTC: the local day counts.
    with session.begin():
        checkin.check_in(session, m, at("2026-01-31 01:30"), SHANGHAI)
    assert lot(session, f"checkin:{m.id}:2026-01-31").expires_at == local_end("2026-02-28")


def test_yearly_clearing_counts_the_local_year(session):
    configure(session, points_expiry_mode=points_expiry.YEARLY, points_expiry_mmdd=1231)
    m = join(session, "oY", at("2026-06-01 10:00"))
    # 31 Dec 23:30 and 1 Jan 00:30 in Shanghai: both 31 Dec in UTC, different local years.
    late = earn(session, m, 5, "late", at("2026-12-31 23:30"))
    early = earn(session, m, 7, "early", at("2027-01-01 00:30"))
    assert late.expires_at == local_end("2027-12-31")
    assert early.expires_at == local_end("2028-12-31")
    assert early.expires_at.isoformat() == "2028-12-31T15:59:59"  # stored in UTC
    configure(session, points_expiry_mmdd=229)  # 29 Feb: the 28th in common years
    assert earn(session, m, 1, "feb", at("2026-05-01 12:00")).expires_at == local_end("2027-02-28")
    assert earn(session, m, 1, "leap", at("2027-05-01 12:00")).expires_at == local_end("2028-02-29")


def test_never_mode_and_explicit_expiry(session):
    configure(session, points_expiry_mode=points_expiry.NEVER)
    m = join(session, "oN", at("2026-06-01 10:00"))
    assert lot(session, f"signup:{m.id}").expires_at is None
    with session.begin():
        points.post(session, m, 3, "adjust", "given", expires_at=at("2026-07-01 00:00"))
    assert lot(session, "given").expires_at == at("2026-07-01 00:00")
    spend(session, m, 2, "debit", at("2026-06-02 10:00"))
    assert lot(session, "debit").expires_at is None  # debits are not lots


@pytest.mark.parametrize("key,value", [("points_expiry_mode", 3), ("points_expiry_months", 0),
                                       ("points_expiry_mmdd", 1332), ("points_expiry_mmdd", 230),
                                       ("points_cash_off_rate", 0),
                                       ("points_cash_off_max_percent", 101)])
def test_out_of_range_expiry_and_redemption_settings_are_refused(session, key, value):
    with pytest.raises(InvalidSetting) as refused:
        configure(session, **{key: value})
    assert refused.value.user_message != InvalidSetting.user_message  # says what is allowed


def test_run_expires_what_fifo_leaves_once(session):
    configure(session, signup_points=0)
    m = join(session, "oF", at("2026-01-10 10:00"))
    earn(session, m, 100, "a", at("2026-01-10 10:00"))  # lapses after 2027-01-10
    earn(session, m, 50, "b", at("2026-06-01 10:00"))  # lapses after 2027-06-01
    spend(session, m, 30, "spent", at("2026-07-01 10:00"))  # from lot a, the oldest
    assert expire(session, "2027-01-10").points == 0  # lot a still counts on its last day
    result = expire(session, "2027-01-11")
    assert (result.members, result.points) == (1, 70)
    assert expiry_rows(session, m.id) == [(-70, f"expire:{m.id}:2027-01-10")]
    assert balance_and_sum(session, m.id) == (50, 50)
    # Replays the same day, a later hour, a re-run of an earlier day: nothing written.
    for again in ("2027-01-11", "2027-01-11", "2027-01-05"):
        assert expire(session, again).points == 0
    assert expiry_run.run(session, tz=timezone.utc, now=at("2027-01-11 23:00")).points == 0
    spend(session, m, 20, "later", at("2027-02-01 10:00"))  # from lot b now
    assert expire(session, "2027-06-02").points == 30
    assert balance_and_sum(session, m.id) == (0, 0)
    assert [d for d, _ in expiry_rows(session, m.id)] == [-70, -30]


def test_a_missed_day_is_caught_up_and_dry_run_writes_nothing(session):
    configure(session, signup_points=0, points_expiry_months=1)
    m = join(session, "oM", at("2026-01-05 10:00"))
    earn(session, m, 10, "a", at("2026-01-05 10:00"))
    earn(session, m, 20, "b", at("2026-01-20 10:00"))
    dry = expire(session, "2026-03-01", dry_run=True)
    assert (dry.members, dry.points, dry.dry_run) == (1, 30, True)
    assert expiry_rows(session, m.id) == []
    assert expire(session, "2026-03-01").points == 30  # both lots, in one row
    assert expiry_rows(session, m.id) == [(-30, f"expire:{m.id}:2026-02-28")]


def test_yearly_clearing_across_the_year_boundary(session):
    configure(session, signup_points=0, points_expiry_mode=points_expiry.YEARLY,
              points_expiry_mmdd=1231)
    m = join(session, "oB", at("2026-12-01 10:00"))
    earn(session, m, 40, "y2026", at("2026-12-31 23:59"))
    earn(session, m, 60, "y2027", at("2027-01-01 00:01"))
    assert expire(session, "2027-12-31").points == 0  # the last day still counts
    assert expire(session, "2028-01-01").points == 40  # 2026's points, on 2027-12-31
    assert expire(session, "2028-12-31").points == 0
    assert expire(session, "2029-01-01").points == 60
    assert balance_and_sum(session, m.id) == (0, 0)
    assert [k for _, k in expiry_rows(session, m.id)] == [f"expire:{m.id}:2027-12-31",
                                                         f"expire:{m.id}:2028-12-31"]


def test_upcoming_shows_what_fifo_leaves_by_local_day(session):
    configure(session, signup_points=0)
    m = join(session, "oU", at("2026-01-10 10:00"))
    earn(session, m, 100, "a", at("2026-01-10 10:00"))
    earn(session, m, 50, "b", at("2026-01-10 23:00"))  # same local day: one entry
    earn(session, m, 70, "c", at("2026-03-01 10:00"))
    spend(session, m, 120, "s", at("2026-04-01 10:00"))
    with session.read():
        got = [(e.points, e.expires_on.isoformat())
               for e in points_expiry.upcoming(session, m.id)]
        assert got == [(30, "2027-01-10"), (70, "2027-03-01")]
        soon = points_expiry.soonest(session, m.id)
        assert (soon.points, soon.expires_at) == (30, local_end("2027-01-10"))
    spend(session, m, 30, "s2", at("2026-04-02 10:00"))
    with session.read():
        assert points_expiry.soonest(session, m.id).points == 70


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS)))


def test_expiry_notice_states_what_fifo_leaves(app, sandbox):
    wx_join(app.simulator(), ["oA"], at("2026-11-01 09:00"))  # 10 sign-up points, 2027
    with app.session() as s, s.begin():
        m = membership.require(s, "oA")
        points.post(s, m, 100, "adjust", "old", expires_at=local_end("2026-12-31"))
        points.post(s, m, 50, "adjust", "newer", expires_at=local_end("2027-01-15"))
        points.post(s, m, -60, "adjust", "spent")  # from the lot lapsing first
    plan(app, "points_expiry", at("2026-12-24 10:00"))
    send(app, at("2026-12-24 10:00"))
    [notice] = sandbox.sent("template")
    assert notice["request"]["data"]["number2"]["value"] == "40"
    assert notice["request"]["data"]["time3"]["value"] == "2026-12-31"


def test_cli_expire_and_member_show_expiring(live, sim, db_url):
    sim.subscribe("oC")  # 10 sign-up points lapse in 12 months
    with live.session() as s, s.begin():
        points.post(s, membership.require(s, "oC"), 5, "adjust", "short",
                    expires_at=at("2026-01-01 12:00"))
    shown = cli("member", "show", "oC", "--json", db_url=db_url)
    assert shown.returncode == 0, shown.stderr
    expiring = json.loads(shown.stdout)["points_expiring"]
    assert expiring[0] == {"points": 5, "expires_on": "2026-01-01"} and expiring[1]["points"] == 10
    dry = cli("points", "expire", "--dry-run", "--at", "2026-01-02", db_url=db_url)
    assert "would expire 5 points of 1 members" in dry.stdout, dry.stderr
    out = cli("points", "expire", "--at", "2026-01-02", db_url=db_url)
    assert out.returncode == 0 and "expired 5 points of 1 members" in out.stdout
    again = cli("points", "expire", "--at", "2026-01-02", db_url=db_url)
    assert "expired 0 points of 0 members" in again.stdout
    with live.session() as s, s.read():
        m = membership.require(s, "oC")
        assert m.points_balance == points.ledger_sum(s, m.id) == 10
        assert s.query(PointsLedger).filter_by(reason="expire").count() == 1


def test_scheduler_runs_the_expiry_just_after_local_midnight(live):
    from wx_member.scheduler import build_scheduler

    job = {j.id: j for j in build_scheduler(live.rt).get_jobs()}["points_expiry_run"]
    now = at("2026-12-31 23:00").replace(tzinfo=timezone.utc)
    nxt = job.trigger.get_next_fire_time(None, now)
    assert nxt.isoformat() == "2027-01-01T00:05:00+08:00"
    assert job.trigger.get_next_fire_time(nxt, nxt + timedelta(seconds=1)).day == 2


def test_a_redemption_waits_while_the_run_holds_its_members(session, db_url):
    if not db_url.startswith("mysql"):
        pytest.skip("SQLite has one writer at a time: nothing to lock per row")
    from sqlalchemy import update
    from sqlalchemy.exc import OperationalError

    from wx_member.db import make_engine, make_session_factory
    from wx_member.models import Member

    m = join(session, "oLock", at("2026-01-01 10:00"))
    member_id = m.id
    engine = make_engine(db_url)
    debit = update(Member).where(Member.id == member_id, Member.points_balance >= 5) \
        .values(points_balance=Member.points_balance - 5)  # what points.post runs
    try:
        with make_session_factory(engine)() as run, run.begin():
            expiry_run.lock_members(run, expiry_run.Members(member_id, member_id))
            with engine.connect() as other:
                other.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
                with pytest.raises(OperationalError) as waited:
                    other.execute(debit)
                assert waited.value.orig.args[0] == 1205  # lock wait timeout
        with engine.begin() as other:  # the run's range transaction ended: it goes through
            assert other.execute(debit).rowcount == 1
    finally:
        engine.dispose()
