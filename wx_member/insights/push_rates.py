"""Push delivery on the dashboard: per push kind (`delivery_rates`, the 送达率 of each kind,
narrowed to one store's members when asked) and per kind and channel (`reach_by_channel`),
the deliveries planned in a period (dry runs excluded) counted by their outcome now.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from wx_member.db import UnitOfWork
from wx_member.insights.kpis import Period, of_store
from wx_member.models import Delivery


@dataclass(frozen=True)
class DeliveryRates:
    kind: str
    total: int
    delivered: int
    sent: int  # sent, awaiting WeChat's report
    failed: int
    skipped: int
    pending: int  # queued or sending
    unknown: int

    @property
    def attempted(self) -> int:
        return self.delivered + self.sent + self.failed + self.unknown

    @property
    def delivery_rate(self) -> float | None:  # 送达率 = delivered ÷ attempted
        return self.delivered / self.attempted if self.attempted else None


def delivery_rates(uow: UnitOfWork, period: Period,
                   store_id: int | None = None) -> list[DeliveryRates]:
    """Use case (a read): per push kind, deliveries planned in the period (dry runs
    excluded), by outcome."""
    def n(*statuses):
        return func.sum(case((Delivery.status.in_(statuses), 1), else_=0))

    stmt = (select(Delivery.kind, func.count(), n("delivered"), n("sent"), n("failed"),
                   n("skipped"), n("queued", "sending"), n("unknown"))
            .where(Delivery.dry_run.is_(False), Delivery.created_at >= period.start,
                   Delivery.created_at < period.end, of_store(Delivery.member_id, store_id))
            .group_by(Delivery.kind).order_by(Delivery.kind))
    with uow.read(replica=True) as session:  # the dashboard's: may be stale
        rows = session.execute(stmt).all()
    return [DeliveryRates(kind, *(int(v or 0) for v in rest)) for kind, *rest in rows]


@dataclass(frozen=True)
class ChannelReach:
    kind: str
    channel: str  # template | subscribe | bizsend | custom | mass
    planned: int
    sent: int  # sent or delivered
    delivered: int
    failed: int  # failed, unknown or skipped (never reached WeChat's phone)


def reach_by_channel(uow: UnitOfWork, period: Period) -> list[ChannelReach]:
    """Use case (a read): per push kind and channel, deliveries planned in the period (dry
    runs excluded): how many each channel carried and what became of them."""
    def n(*statuses):
        return func.sum(case((Delivery.status.in_(statuses), 1), else_=0))

    stmt = (select(Delivery.kind, Delivery.channel, func.count(), n("sent", "delivered"),
                   n("delivered"), n("failed", "unknown", "skipped"))
            .where(Delivery.dry_run.is_(False), Delivery.created_at >= period.start,
                   Delivery.created_at < period.end)
            .group_by(Delivery.kind, Delivery.channel).order_by(Delivery.kind, Delivery.channel))
    with uow.read(replica=True) as session:  # the dashboard's: may be stale
        rows = session.execute(stmt).all()
    return [ChannelReach(kind, channel, *(int(v or 0) for v in rest))
            for kind, channel, *rest in rows]
