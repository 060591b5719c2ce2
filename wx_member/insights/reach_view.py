"""Reach over time (read model): per local day, or per week for a long period, the pushes
planned then (dry runs excluded) and what became of them, for one kind, one occasion (a
campaign) or all.

Each bucket is a cohort: the deliveries *planned* in it, counted by their outcome now, so a
bucket's reach rate (sent ÷ targeted) is what reached people of what was planned that day,
whenever it was sent. Members no channel could reach are not planned (pushes/reach.py), so
they are in the forecast, not here. One GROUP BY over a CASE of the buckets' UTC bounds,
exact across daylight-saving changes, the same SQL on every backend (as kpis.joins_per_day).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, literal_column, select

from wx_member.clock import day_start
from wx_member.db import UnitOfWork
from wx_member.insights.kpis import Period, of_store
from wx_member.models import Delivery

DAILY_UP_TO = 31  # a longer period is shown per week (Monday to Sunday, cut to the period)


@dataclass(frozen=True)
class ReachPoint:
    first: date  # the bucket's first local day
    last: date  # and its last
    targeted: int  # deliveries planned
    sent: int  # sent or delivered
    delivered: int
    failed: int  # failed, unknown or skipped (never reached WeChat's phone)

    @property
    def several_days(self) -> bool:  # a week (cut to the period), not one day
        return self.first != self.last

    @property
    def label(self) -> str:
        return f"{self.first:%m-%d}" if self.first == self.last else f"{self.first:%m-%d}起"

    @property
    def rate(self) -> float | None:  # 触达率 = sent ÷ targeted
        return self.sent / self.targeted if self.targeted else None


def buckets(period: Period) -> list[tuple[date, date]]:
    """The period's local days, or its weeks when it is longer than DAILY_UP_TO days."""
    days = period.days
    if len(days) <= DAILY_UP_TO:
        return [(d, d) for d in days]
    out, start = [], days[0]
    while start <= period.last:
        end = min(start + timedelta(days=6 - start.weekday()), period.last)
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def reach_over_time(uow: UnitOfWork, period: Period, kind: str | None = None,
                    occasion: str | None = None,
                    store_id: int | None = None, *, replica: bool = False) -> list[ReachPoint]:
    """Use case (a read): one ReachPoint per bucket of the period, zeros included;
    `store_id`: only that store's members (as the dashboard's other figures). `replica`:
    the figures may be stale (the dashboard's; not a campaign's page after its run)."""
    spans = buckets(period)
    bounds = [day_start(last + timedelta(days=1), period.tz) for _, last in spans[:-1]]
    bucket = (case(*[(Delivery.created_at < b, i) for i, b in enumerate(bounds)],
                   else_=len(spans) - 1) if bounds else literal_column("0"))

    def n(*statuses):
        return func.sum(case((Delivery.status.in_(statuses), 1), else_=0))

    stmt = (select(bucket.label("bucket"), func.count(), n("sent", "delivered"), n("delivered"),
                   n("failed", "unknown", "skipped"))
            .where(Delivery.dry_run.is_(False), Delivery.created_at >= period.start,
                   Delivery.created_at < period.end, of_store(Delivery.member_id, store_id))
            .group_by(literal_column("bucket")))
    if kind:
        stmt = stmt.where(Delivery.kind == kind)
    if occasion:
        stmt = stmt.where(Delivery.occasion == occasion)
    with uow.read(replica=replica) as session:
        counts = {int(i): [int(v or 0) for v in rest] for i, *rest in session.execute(stmt)}
    return [ReachPoint(first, last, *counts.get(i, [0, 0, 0, 0]))
            for i, (first, last) in enumerate(spans)]
