"""KPIs and RFM segments on known data, on SQLite and MariaDB (set-based SQL on both)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from wx_member.models import Delivery, Member, Order, QrScan
from wx_member.insights import kpis, push_rates
from wx_member.insights import rfm

SH = ZoneInfo("Asia/Shanghai")
PERIOD = kpis.Period(date(2026, 11, 1), date(2026, 11, 7), SH)  # UTC 10-31 16:00 → 11-07 16:00
_seq = iter(range(1, 10_000))


def add_member(s, openid, joined, last_seen=None):
    m = Member(openid=openid, card_no=f"c{openid}", joined_at=joined, last_seen_at=last_seen,
               points_balance=0, tier="normal")
    s.add(m)
    s.flush()
    return m


def add_order(s, member, paid_at, yuan, status="paid", refunded_yuan=0):
    n = next(_seq)
    s.add(Order(out_trade_no=f"T{n}", openid=member.openid if member else "oWalkIn",
                member_id=member.id if member else None, amount_fen=yuan * 100,
                refunded_fen=refunded_yuan * 100, status=status, api="v2", paid_at=paid_at))


def scan(s, openid, at, joined=False):
    s.add(QrScan(scene="store_01", openid=openid, joined=joined, created_at=at))


@pytest.fixture
def known(session):
    with session.begin():
        m1 = add_member(session, "m1", datetime(2026, 10, 20), last_seen=datetime(2026, 11, 6))
        m2 = add_member(session, "m2", datetime(2026, 10, 31, 16, 30))  # 11-01 00:30 local
        m3 = add_member(session, "m3", datetime(2026, 11, 7, 15, 30), last_seen=datetime(2026, 11, 7, 15, 30))
        add_member(session, "m4", datetime(2026, 11, 7, 16, 10))  # 11-08 local: after
        m5 = add_member(session, "m5", datetime(2026, 11, 2, 3))
        m6 = add_member(session, "m6", datetime(2026, 6, 1), last_seen=datetime(2026, 6, 2))
        add_order(session, m1, datetime(2026, 10, 25), 100)  # m1's first order, before
        add_order(session, m1, datetime(2026, 11, 2), 200)  # a repeat, in the period
        add_order(session, m2, datetime(2026, 11, 3), 50)  # first, within 30 days of joining
        add_order(session, m2, datetime(2026, 11, 5), 70, "partially_refunded", 20)
        add_order(session, m5, datetime(2026, 11, 3), 80, "refunded", 80)  # no purchase
        add_order(session, m6, datetime(2026, 6, 2), 30)  # long ago: churned
        add_order(session, None, datetime(2026, 11, 4), 999)  # a walk-in: not a member
        scan(session, "m2", datetime(2026, 10, 31, 16, 30), joined=True)
        scan(session, "m3", datetime(2026, 11, 7, 15, 30), joined=True)
        scan(session, "oVisitor", datetime(2026, 11, 2))
        scan(session, "oVisitor", datetime(2026, 11, 3))
        scan(session, "m1", datetime(2026, 11, 4))
        scan(session, "m6", datetime(2026, 6, 1), joined=True)  # before the period
        session.add_all([Delivery(member_id=m1.id, openid="m1", kind="holiday", occasion=o,
                                  channel="custom", payload={}, status=st, created_at=datetime(2026, 11, 2))
                         for o, st in (("a", "delivered"), ("b", "delivered"), ("c", "failed"),
                                       ("d", "skipped"), ("e", "queued"))])
        session.add(Delivery(member_id=m1.id, openid="m1", kind="holiday", occasion="dry",
                             channel="custom", payload={}, status="failed", dry_run=True,
                             created_at=datetime(2026, 11, 2)))
    return session


def test_kpis_on_known_data(known):
    k = kpis.compute(known, PERIOD, now=PERIOD.end)
    assert (k.members_total, k.members_at_start, k.new_members) == (5, 2, 3)
    assert (k.scanners, k.scan_joins, k.join_rate) == (4, 2, 0.5)
    assert (k.converted, k.conversion) == (1, 1 / 3)
    assert k.growth == 1.5
    assert (k.buyers, k.repeat_buyers, k.repurchase) == (2, 1, 0.5)
    assert (k.spend_fen, k.repeat_spend_fen) == (30000, 25000)
    assert (k.buyers_ever, k.churned) == (3, 1)
    assert (k.active, k.members_total) == (4, 5)
    per_day = dict(k.joins_per_day)
    assert len(per_day) == 7 and sum(per_day.values()) == 3
    assert per_day[date(2026, 11, 1)] == per_day[date(2026, 11, 2)] == per_day[date(2026, 11, 7)] == 1


def test_conversion_window_and_churn_days_are_parameters(known):
    k = kpis.compute(known, PERIOD, conversion_days=2, churn_days=200, now=PERIOD.end)
    assert k.converted == 0  # m2 joined 10-31 16:30, first order 11-03: not within 2 days
    assert k.churned == 0


def test_empty_period_has_no_ratios(session):
    k = kpis.compute(session, PERIOD)
    assert k.join_rate is k.conversion is k.repurchase is k.churn is None
    assert [n for _, n in k.joins_per_day] == [0] * 7


def test_tiers_and_delivery_rates(known):
    assert dict(kpis.tier_distribution(known)) == {"normal": 6}
    [holiday] = push_rates.delivery_rates(known, PERIOD)
    assert (holiday.total, holiday.delivered, holiday.failed, holiday.skipped, holiday.pending) == (5, 2, 1, 1, 1)
    assert holiday.delivery_rate == 2 / 3


def test_rfm_segments_against_medians(session):
    with session.begin():
        plan = {"A": [(datetime(2026, 11, 10), 100)] * 5, "B": [(datetime(2026, 11, 1), 50)],
                "C": [(datetime(2026, 10, 1), 100)] * 3, "D": [(datetime(2026, 9, 1), 20)],
                "E": [(datetime(2026, 11, 5), 500)] * 2}
        for name, bought in plan.items():
            m = add_member(session, name, datetime(2026, 1, 1))
            for at, yuan in bought:
                add_order(session, m, at, yuan)
        add_member(session, "nobuy", datetime(2026, 1, 1))
    r = rfm.segment_sizes(session, as_of=datetime(2026, 12, 1))
    assert (r.buyers, r.non_buyers) == (5, 1)
    assert (r.median_last_order, r.median_orders, r.median_spend_fen) == (datetime(2026, 11, 1), 2, 30000)
    assert r.sizes == {"重要价值": 1, "重要发展": 1, "重要保持": 0, "重要挽留": 0,
                       "一般价值": 0, "一般发展": 0, "一般保持": 1, "一般挽留": 2}


def test_rfm_without_buyers(session):
    r = rfm.segment_sizes(session)
    assert r.buyers == 0 and set(r.sizes.values()) == {0}
