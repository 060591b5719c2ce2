"""The expiry run starts where the last finished run stopped: a replay looks at nobody and
writes nothing, yet whatever became due since (lots lapsing at the next local midnight, a
lot posted with a past expiry, points a cancelled cash-off gave back) is found and expired
exactly once, with balance = ledger sum."""
from __future__ import annotations

from points_helpers import (at, balance_and_sum, configure, earn, expire, expiry_rows, join,
                            local_end, spend)
from test_cli import run as cli
from wx_member.loyalty import points, redemption


def test_a_replay_looks_at_nobody_and_writes_nothing(session):
    configure(session, signup_points=0)
    m = join(session, "oReplay", at("2026-01-10 10:00"))
    earn(session, m, 100, "a", at("2026-01-10 10:00"))  # last day 2027-01-10
    first = expire(session, "2027-01-11")
    assert (first.points, first.visited) == (100, None)  # no earlier run: every member
    for again in ("2027-01-11", "2027-01-11"):
        replay = expire(session, again)
        assert (replay.points, replay.members, replay.visited) == (0, 0, 0)
    assert expire(session, "2027-01-11", dry_run=True).visited == 0
    assert expiry_rows(session, m.id) == [(-100, f"expire:{m.id}:2027-01-10")]


def test_lots_lapsing_at_the_next_local_midnight_are_found_and_taken_once(session):
    configure(session, signup_points=0)
    m = join(session, "oMidnight", at("2026-03-01 10:00"))
    quiet = [join(session, f"oQuiet{i}", at("2026-03-01 10:00")) for i in range(4)]
    last = join(session, "oLast", at("2026-03-01 10:00"))  # far from m: named one by one
    # 23:30 and 00:30 local on either side of midnight: last days 2027-03-01 and -02.
    earn(session, m, 40, "late", at("2026-03-01 23:30"))
    earn(session, m, 60, "early", at("2026-03-02 00:30"))
    earn(session, last, 9, "last", at("2026-03-02 12:00"))
    for i, q in enumerate(quiet):
        earn(session, q, 5, f"far{i}", at("2026-09-01 10:00"))
    spend(session, m, 50, "spent", at("2026-06-01 10:00"))  # all of "late", 10 of "early"
    assert expire(session, "2027-03-02").points == 0  # "late" gone already; marks the day
    at_midnight = expire(session, "2027-03-03")  # "early" lapsed at midnight
    assert (at_midnight.points, at_midnight.visited) == (59, 2)  # not the quiet members
    assert expire(session, "2027-03-03").points == 0
    member_id, last_id, quiet_ids = m.id, last.id, [q.id for q in quiet]
    assert balance_and_sum(session, member_id) == (0, 0)
    assert balance_and_sum(session, last_id) == (0, 0)
    assert all(balance_and_sum(session, q) == (5, 5) for q in quiet_ids)
    assert expiry_rows(session, member_id) == [(-50, f"expire:{member_id}:2027-03-02")]


def test_a_lot_partly_spent_lapses_its_rest_when_its_day_comes(session):
    configure(session, signup_points=0)
    m = join(session, "oPart", at("2026-01-05 10:00"))
    earn(session, m, 30, "a", at("2026-01-05 10:00"))  # last day 2027-01-05
    earn(session, m, 70, "b", at("2026-02-05 10:00"))  # last day 2027-02-05
    assert expire(session, "2026-12-01").points == 0  # a first run leaves its mark
    spend(session, m, 45, "gift", at("2026-12-10 10:00"))  # all of a, 15 of b
    assert expire(session, "2027-01-06").points == 0  # a was spent
    assert expire(session, "2027-02-06").points == 55  # what is left of b
    assert balance_and_sum(session, m.id) == (0, 0)


def test_what_became_due_after_a_run_is_expired_by_the_next_one(session):
    configure(session, signup_points=0)
    m = join(session, "oLater", at("2026-01-05 10:00"))
    earn(session, m, 100, "a", at("2026-01-05 10:00"))  # last day 2027-01-05
    redemption.cash_off(session, m, "ORD-later", 10_000, want_points=80,
                        now=at("2026-06-01 10:00"))  # 80 of lot a
    assert expire(session, "2027-01-06").points == 20
    # The cash-off is cancelled after the run: its 80 points keep lot a's past day.
    assert redemption.cancel_cash_off(session, "ORD-later", "取消",
                                      now=at("2027-01-06 09:00")).points == 80
    # An operator gives 7 points that lapsed yesterday (an explicit expiry in the past).
    with session.begin():
        points.post(session, m, 7, "adjust", "backdated", now=at("2027-01-06 09:30"),
                    expires_at=local_end("2027-01-05"))
    again = expire(session, "2027-01-06")  # the same day again
    assert (again.points, again.visited) == (87, 1)
    assert expiry_rows(session, m.id) == [(-20, f"expire:{m.id}:2027-01-05"),
                                          (-87, f"expire:{m.id}:2027-01-05:1")]
    assert expire(session, "2027-01-06").points == 0
    assert balance_and_sum(session, m.id) == (0, 0)


def test_cli_says_whom_the_run_looked_at(live, sim, db_url):
    sim.subscribe("oCli")
    first = cli("points", "expire", "--at", "2026-01-02", db_url=db_url)
    assert "(looked at every member)" in first.stdout, first.stderr
    again = cli("points", "expire", "--at", "2026-01-02", db_url=db_url)
    assert "expired 0 points of 0 members" in again.stdout
    assert "(looked at 0 members since the last run)" in again.stdout
