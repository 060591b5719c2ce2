"""What each channel QR brought (read model): its scans, distinct scanners and joins, the
members it brought who ordered, and how many of those bought again within a number of days
of their first order. Counted orders are purchases as the KPIs count them (`kpis.COUNTED`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.insights.kpis import COUNTED, plus_days
from wx_member.models import Channel, Member, Order


@dataclass(frozen=True)
class ChannelReport:
    scene: str
    name: str
    kind: str
    permanent: bool
    expires_at: datetime | None
    scans: int
    scanners: int
    joins: int  # members who joined through the channel
    first_orders: int  # of them, members with an order
    repurchased: int  # of those, a second order within `days` of the first
    store_id: int | None = None  # the store the code stands in
    retired_at: datetime | None = None  # retired by an operator (its scans still count)

    @property
    def repurchase_rate(self) -> float | None:
        return self.repurchased / self.first_orders if self.first_orders else None


def channel_report(uow: UnitOfWork, days: int = 90, store_id: int | None = None,
                   retired: bool | None = None) -> list[ChannelReport]:
    """Use case (a read): per channel QR, scans, distinct scanners, joins, members with a
    first order, and how many of those bought again within `days` of it. Three grouped
    queries. `store_id`: only the channel codes standing in that store; `retired`: only
    retired codes (True), only codes in use (False), or both (None)."""
    with uow.read() as session:
        return _channel_report(session, days, store_id, retired)


def _channel_report(session: Session, days: int, store_id: int | None = None,
                    retired: bool | None = None) -> list[ChannelReport]:
    from wx_member.members import channels

    counted = and_(Order.status.in_(COUNTED), Order.purpose == "purchase")  # not recharges
    first = (select(Order.member_id, func.min(Order.paid_at).label("first_at"))
             .where(Order.member_id.is_not(None), counted).group_by(Order.member_id).subquery())
    again = (select(Order.id).where(Order.member_id == first.c.member_id, counted,
                                    Order.paid_at > first.c.first_at,
                                    Order.paid_at < plus_days(session, first.c.first_at, days))
             .exists())
    buyers = {scene: (int(n), int(r or 0)) for scene, n, r in session.execute(
        select(Member.scene, func.count(), func.sum(case((again, 1), else_=0)))
        .join(first, first.c.member_id == Member.id).group_by(Member.scene))}
    joined = dict(session.execute(select(Member.scene, func.count()).group_by(Member.scene)).all())
    scans = {s.scene: s for s in channels.stats(session)}
    out = []
    shown = select(Channel).where(Channel.kind != "referral").order_by(Channel.id)
    if store_id is not None:
        shown = shown.where(Channel.store_id == store_id)
    if retired is not None:
        shown = shown.where(Channel.retired_at.is_not(None) if retired
                            else Channel.retired_at.is_(None))
    for ch in session.scalars(shown):
        st = scans.get(ch.scene)
        n_first, n_again = buyers.get(ch.scene, (0, 0))
        out.append(ChannelReport(ch.scene, ch.name, ch.kind, ch.permanent, ch.expires_at,
                                 st.scans if st else 0, st.scanners if st else 0,
                                 int(joined.get(ch.scene, 0)), n_first, n_again, ch.store_id,
                                 ch.retired_at))
    return out
