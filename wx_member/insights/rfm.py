"""RFM segments: members who bought, scored on recency (last order), frequency (orders)
and monetary value (net spend) against the medians of those who bought; the eight classic
segments (SEGMENTS below). Set-based: a per-member aggregate, three median look-ups
(ORDER BY … LIMIT 1 OFFSET n/2) and one GROUP BY over the three scores.

A score is high (↑) when strictly better than the median: a later last order, more
orders, more spend. Members without an order are counted apart (未消费).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, false, func, select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.models import Member, Order
from wx_member.clock import utcnow
from wx_member.insights.kpis import COUNTED, of_store

# (R high, F high, M high) → segment name, and the name of members without a counted order.
SEGMENTS, NO_ORDER = labels.RFM_SEGMENTS, labels.RFM_NO_ORDER


@dataclass(frozen=True)
class Rfm:
    as_of: datetime
    buyers: int
    non_buyers: int
    median_last_order: datetime | None
    median_orders: int | None
    median_spend_fen: int | None
    sizes: dict[str, int]  # segment name → members, every segment present


def _aggregate(as_of: datetime, store_id: int | None = None):
    return (select(Order.member_id.label("member_id"),
                   func.max(Order.paid_at).label("r"), func.count().label("f"),
                   func.sum(Order.amount_fen - Order.refunded_fen).label("m"))
            .where(Order.member_id.is_not(None), Order.status.in_(COUNTED),
                   Order.purpose == "purchase", Order.paid_at < as_of,  # not recharges
                   of_store(Order.member_id, store_id))
            .group_by(Order.member_id).subquery())


def _median(session: Session, agg, column, n: int):
    return session.scalar(select(column).select_from(agg).order_by(column)
                          .limit(1).offset((n - 1) // 2))


def segment_sizes(uow: UnitOfWork, as_of: datetime | None = None,
                  store_id: int | None = None) -> Rfm:
    """Use case (a read): how many members each segment has as of `as_of`. `store_id`:
    among one store's members (home store), scored against their own medians."""
    with uow.read(replica=True) as session:  # the dashboard's: may be stale
        return _segment_sizes(session, as_of or utcnow(), store_id)


def _segment_sizes(session: Session, as_of: datetime, store_id: int | None = None) -> Rfm:
    agg = _aggregate(as_of, store_id)
    n = int(session.scalar(select(func.count()).select_from(agg)) or 0)
    members = int(session.scalar(select(func.count()).select_from(Member)
                                 .where(Member.joined_at < as_of,
                                        of_store(Member.id, store_id))) or 0)
    sizes = {name: 0 for name in SEGMENTS.values()}
    if n == 0:
        return Rfm(as_of, 0, members, None, None, None, sizes)
    med_r, med_f, med_m = (_median(session, agg, c, n) for c in (agg.c.r, agg.c.f, agg.c.m))
    scored = select(case((agg.c.r > med_r, 1), else_=0).label("rh"),
                    case((agg.c.f > med_f, 1), else_=0).label("fh"),
                    case((agg.c.m > med_m, 1), else_=0).label("mh")).subquery()
    for rh, fh, mh, count in session.execute(
            select(scored.c.rh, scored.c.fh, scored.c.mh, func.count())
            .group_by(scored.c.rh, scored.c.fh, scored.c.mh)):
        sizes[SEGMENTS[(int(rh), int(fh), int(mh))]] = int(count)
    return Rfm(as_of, n, max(members - n, 0), med_r, int(med_f), int(med_m), sizes)


def members_in(session: Session, name: str, as_of: datetime | None = None) -> ColumnElement:
    """A condition on `Member`: the members of segment `name` (one of SEGMENTS, or
    NO_ORDER) as of `as_of`, scored exactly as `segment_sizes` counts them. The medians are
    looked up now (three queries); the condition itself is one semi-join."""
    as_of = as_of or utcnow()
    agg = _aggregate(as_of)
    if name == NO_ORDER:
        return Member.id.not_in(select(agg.c.member_id))
    high = {v: k for k, v in SEGMENTS.items()}[name]
    n = int(session.scalar(select(func.count()).select_from(agg)) or 0)
    if n == 0:
        return false()
    scores = []
    for column, is_high in zip((agg.c.r, agg.c.f, agg.c.m), high):
        median = _median(session, agg, column, n)
        scores.append(column > median if is_high else column <= median)
    return Member.id.in_(select(agg.c.member_id).where(*scores))


def member_in(session: Session, name: str, as_of: datetime | None = None) -> ColumnElement:
    """As `members_in`, but probed per member row (correlated on `Member.id`, through the
    index on order.member_id) and never NULL: for scanning members a batch at a time (the
    WeChat tag sync), where `members_in` would aggregate every order again per batch. The
    medians are looked up now, as `members_in` does, so both select the same members."""
    as_of = as_of or utcnow()
    mine = and_(Order.member_id == Member.id, Order.status.in_(COUNTED),
                Order.purpose == "purchase", Order.paid_at < as_of)
    bought = exists().where(mine)
    if name == NO_ORDER:
        return ~bought
    high = {v: k for k, v in SEGMENTS.items()}[name]
    agg = _aggregate(as_of)
    n = int(session.scalar(select(func.count()).select_from(agg)) or 0)
    if n == 0:
        return false()
    scores = [bought]
    for column, value, is_high in zip(
            (agg.c.r, agg.c.f, agg.c.m),
            (func.max(Order.paid_at), func.count(), func.sum(Order.amount_fen - Order.refunded_fen)),
            high):
        median = _median(session, agg, column, n)
        mine_value = select(value).where(mine).scalar_subquery()
        scores.append(func.coalesce(mine_value > median if is_high else mine_value <= median,
                                    False))
    return and_(*scores)
