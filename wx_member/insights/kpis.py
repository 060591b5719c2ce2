"""Membership KPIs over a period of local days, as set-based SQL (one aggregate query per
figure, whatever the member count). Definitions: under the console's dashboard charts
(web/admin/templates/admin/dashboard.html).

A period is [first day 00:00, last day + 1 00:00) in the programme's zone, turned into UTC
bounds here, so the database only compares stored UTC times.

`store_id` narrows every figure to one store: its members (home store, 归属门店), their
orders wherever they paid, and the scans of its channel codes. None: the whole programme.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from wx_member.clock import day_start, local_day, utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Channel, Member, Order, QrScan

COUNTED = ("paid", "partially_refunded")  # a fully refunded order is no purchase
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive
    tz: ZoneInfo

    @classmethod
    def last_days(cls, days: int, tz: ZoneInfo, now: datetime | None = None) -> "Period":
        today = local_day(now or utcnow(), tz)
        return cls(today - timedelta(days=days - 1), today, tz)

    def __post_init__(self):
        if self.last < self.first or (self.last - self.first).days >= MAX_DAYS:
            raise ValueError("a period is 1 to 366 days, first <= last")

    @property
    def start(self) -> datetime:
        return day_start(self.first, self.tz)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def label(self) -> str:
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}（{self.tz.key}）"


@dataclass
class Kpis:
    period: Period
    conversion_days: int
    churn_days: int
    active_days: int
    members_total: int = 0  # joined before the period's end
    members_at_start: int = 0
    new_members: int = 0
    scanners: int = 0  # distinct people who scanned a channel QR in the period
    scan_joins: int = 0  # of them, those whose scan made them members
    converted: int = 0  # new members with a first order within conversion_days of joining
    buyers: int = 0  # members with >= 1 order in the period
    repeat_buyers: int = 0  # members with >= 2 orders in the period
    spend_fen: int = 0  # members' net spend in the period
    repeat_spend_fen: int = 0  # of it, on orders after each member's first ever
    buyers_ever: int = 0  # members with >= 1 order before the period's end
    churned: int = 0  # of them, last order older than churn_days at the period's end
    active: int = 0  # members with an interaction or order in the last active_days (now)
    joins_per_day: list[tuple[date, int]] = field(default_factory=list)

    @staticmethod
    def ratio(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def join_rate(self):  # 开卡率
        return self.ratio(self.scan_joins, self.scanners)

    @property
    def conversion(self):  # 转化率
        return self.ratio(self.converted, self.new_members)

    @property
    def growth(self):  # 发展率
        return self.ratio(self.new_members, self.members_at_start)

    @property
    def repurchase(self):  # 回购率
        return self.ratio(self.repeat_buyers, self.buyers)

    @property
    def repeat_spend_share(self):  # 回购金额占比
        return self.ratio(self.repeat_spend_fen, self.spend_fen)

    @property
    def churn(self):  # 流失率
        return self.ratio(self.churned, self.buyers_ever)

    @property
    def activity(self):  # 活跃度
        return self.ratio(self.active, self.members_total)


def plus_days(session: Session, column, days: int):
    """`column + days` in SQL; the one date function the backends spell differently."""
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime(column, f"+{int(days)} days")
    return func.date_add(column, literal_column(f"INTERVAL {int(days)} DAY"))


def _count(session: Session, q) -> int:
    return int(session.scalar(q) or 0)


def store_members(store_id: int):
    """The ids of one store's members (home store), for an IN (...) semi-join."""
    return select(Member.id).where(Member.home_store_id == store_id)


def of_store(column, store_id: int | None):
    """A condition on a member id column: the member is of `store_id` (None: anyone)."""
    return true() if store_id is None else column.in_(store_members(store_id))


def compute(uow: UnitOfWork, period: Period, conversion_days: int = 30, churn_days: int = 90,
            active_days: int = 30, now: datetime | None = None,
            store_id: int | None = None) -> Kpis:
    """Use case (a read): every KPI of the period, as of one snapshot. The dashboard's
    only: its figures may lag the primary by up to WX_REPLICA_MAX_LAG (the read replica)."""
    with uow.read(replica=True) as session:
        return _compute(session, period, conversion_days, churn_days, active_days, now,
                        store_id)


def _compute(session: Session, period: Period, conversion_days: int, churn_days: int,
             active_days: int, now: datetime | None, store_id: int | None = None) -> Kpis:
    now = now or utcnow()
    start, end = period.start, period.end
    k = Kpis(period, conversion_days, churn_days, active_days)
    n_members = select(func.count()).select_from(Member)
    if store_id is not None:
        n_members = n_members.where(Member.home_store_id == store_id)
    k.members_total = _count(session, n_members.where(Member.joined_at < end))
    k.members_at_start = _count(session, n_members.where(Member.joined_at < start))
    new = and_(Member.joined_at >= start, Member.joined_at < end)
    k.new_members = _count(session, n_members.where(new))

    in_scans = and_(QrScan.created_at >= start, QrScan.created_at < end)
    if store_id is not None:
        in_scans = and_(in_scans, QrScan.channel_id.in_(
            select(Channel.id).where(Channel.store_id == store_id)))
    k.scanners = _count(session, select(func.count(func.distinct(QrScan.openid))).where(in_scans))
    k.scan_joins = _count(session, select(func.count(func.distinct(QrScan.openid)))
                          .where(in_scans, QrScan.joined.is_(True)))

    counted = and_(Order.status.in_(COUNTED), Order.purpose == "purchase",  # not recharges
                   of_store(Order.member_id, store_id))
    first = (select(Order.member_id, func.min(Order.paid_at).label("first_at"),
                    func.max(Order.paid_at).label("last_at"))
             .where(Order.member_id.is_not(None), counted, Order.paid_at < end)
             .group_by(Order.member_id).subquery())
    k.converted = _count(session, select(func.count()).select_from(Member)
                         .join(first, first.c.member_id == Member.id)
                         .where(new, first.c.first_at < plus_days(session, Member.joined_at,
                                                                   conversion_days)))

    in_period = and_(Order.member_id.is_not(None), counted, Order.paid_at >= start,
                     Order.paid_at < end)
    per_buyer = (select(Order.member_id, func.count().label("n")).where(in_period)
                 .group_by(Order.member_id).subquery())
    k.buyers, k.repeat_buyers = (int(v or 0) for v in session.execute(
        select(func.count(), func.sum(case((per_buyer.c.n >= 2, 1), else_=0)))).one())
    net = Order.amount_fen - Order.refunded_fen
    spend, repeat = session.execute(
        select(func.sum(net), func.sum(case((Order.paid_at > first.c.first_at, net), else_=0)))
        .join(first, first.c.member_id == Order.member_id).where(in_period)).one()
    k.spend_fen, k.repeat_spend_fen = int(spend or 0), int(repeat or 0)

    k.buyers_ever = _count(session, select(func.count()).select_from(first))
    k.churned = _count(session, select(func.count()).select_from(first).where(
        first.c.last_at < end - timedelta(days=churn_days)))

    since = now - timedelta(days=active_days)
    ordered = select(Order.member_id).where(Order.paid_at >= since, Order.member_id.is_not(None))
    k.active = _count(session, n_members.where(Member.joined_at < end, or_(
        Member.last_seen_at >= since, Member.id.in_(ordered))))
    k.joins_per_day = joins_per_day(session, period, store_id)
    return k


def joins_per_day(session: Session, period: Period,
                  store_id: int | None = None) -> list[tuple[date, int]]:
    """New members per local day: one GROUP BY over a CASE of the days' UTC bounds (exact
    across daylight-saving changes, the same SQL on every backend)."""
    days = period.days
    bounds = [day_start(d, period.tz) for d in days[1:]]
    bucket = case(*[(Member.joined_at < b, i) for i, b in enumerate(bounds)],
                  else_=len(days) - 1) if bounds else literal_column("0")
    rows = session.execute(select(bucket.label("bucket"), func.count())
                           .where(Member.joined_at >= period.start, Member.joined_at < period.end,
                                  of_store(Member.id, store_id))
                           .group_by(literal_column("bucket"))).all()
    counts = {int(i): int(n) for i, n in rows}
    return [(d, counts.get(i, 0)) for i, d in enumerate(days)]


def tier_distribution(uow: UnitOfWork, store_id: int | None = None) -> list[tuple[str, int]]:
    """Use case (a read): members per tier, most first; from the read replica, as the
    dashboard's other figures."""
    q = select(Member.tier, func.count()).group_by(Member.tier).order_by(func.count().desc())
    if store_id is not None:
        q = q.where(Member.home_store_id == store_id)
    with uow.read(replica=True) as session:
        return [(t, int(n)) for t, n in session.execute(q)]
