"""What a member sees of their own card: number, tier and the way to the next one, points
and the soonest expiring ones, points and tier history. Read-only queries over one member,
each use case in one `reading` transaction (no write lock on SQLite).

Stored value (a balance on the card) waits for the stored-value service; it is not shown
until that exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member.db import reading
from wx_member.models import Member, PointsLedger, TierHistory
from wx_member.replies import tier_name
from wx_member.services import points, tiers
from wx_member.services.errors import UnknownMember

UTC = ZoneInfo("UTC")
EXPIRY_DATES = 3  # how many upcoming expiry dates the card lists
TIER_REASONS_ZH = {"payment": "消费升级", "refund": "退款调整", "adjust": "人工调整"}


@dataclass(frozen=True)
class Expiring:
    date: date  # local day the points expire
    points: int


@dataclass(frozen=True)
class NextTier:
    tier: str
    name: str
    threshold_fen: int
    remaining_fen: int
    progress_percent: int  # 0-99 of the way from the current tier's threshold


@dataclass(frozen=True)
class Card:
    card_no: str
    tier: str
    tier_name: str
    points: int
    total_spend_fen: int
    next_tier: NextTier | None  # None at the top of the ladder
    expiring: list[Expiring]


@dataclass(frozen=True)
class PointsEntry:
    id: int
    delta: int
    reason: str
    reason_zh: str
    created_at: datetime
    expires_at: datetime | None


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise UnknownMember(f"no member {member_id}")
    return member


def next_tier(session: Session, member: Member) -> NextTier | None:
    current = tiers.rank(member.tier)
    if current + 1 >= len(tiers.LADDER):
        return None
    target = tiers.LADDER[current + 1]
    floor, threshold = tiers.threshold_fen(session, member.tier), tiers.threshold_fen(session, target)
    spend = member.total_spend_fen
    span = max(threshold - floor, 1)
    progress = min(max((spend - floor) * 100 // span, 0), 99)
    return NextTier(target, tier_name(target), threshold, max(threshold - spend, 0), int(progress))


def expiring_points(session: Session, member: Member, now: datetime, tz: ZoneInfo,
                    dates: int = EXPIRY_DATES) -> list[Expiring]:
    """The next expiry dates and how many points expire on each, from the ledger's lots.

    Until lots are consumed by redemptions (the points-expiry service), what a member
    spent is not tied to lots: each date's amount is its lots' sum, and the running total
    is capped at the balance, i.e. an upper bound that never exceeds what the member holds.
    """
    rows = session.execute(
        select(PointsLedger.expires_at, func.sum(PointsLedger.delta))
        .where(PointsLedger.member_id == member.id, PointsLedger.delta > 0,
               PointsLedger.expires_at > now)
        .group_by(PointsLedger.expires_at).order_by(PointsLedger.expires_at).limit(dates * 8))
    by_day: dict[date, int] = {}
    for expires_at, amount in rows:
        day = expires_at.replace(tzinfo=UTC).astimezone(tz).date()
        by_day[day] = by_day.get(day, 0) + int(amount)
    left, out = max(member.points_balance, 0), []
    for day in sorted(by_day)[:dates]:
        amount = min(by_day[day], left)
        if amount <= 0:
            break
        out.append(Expiring(day, amount))
        left -= amount
    return out


def card(session: Session, member_id: int, now: datetime, tz: ZoneInfo) -> Card:
    with reading(session):
        member = _member(session, member_id)
        return Card(card_no=member.card_no or "", tier=member.tier,
                    tier_name=tier_name(member.tier), points=member.points_balance,
                    total_spend_fen=member.total_spend_fen, next_tier=next_tier(session, member),
                    expiring=expiring_points(session, member, now, tz))


def points_page(session: Session, member_id: int, before: int | None,
                limit: int) -> tuple[list[PointsEntry], int | None]:
    """Newest first; `before` is the cursor the previous page returned (an entry id).
    Returns the entries and the cursor of the next page (None on the last)."""
    q = select(PointsLedger).where(PointsLedger.member_id == member_id)
    if before is not None:
        q = q.where(PointsLedger.id < before)
    with reading(session):
        _member(session, member_id)
        rows = list(session.scalars(q.order_by(PointsLedger.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [PointsEntry(r.id, r.delta, r.reason, points.REASONS_ZH.get(r.reason, "其他"),
                           r.created_at, r.expires_at) for r in rows]
    return entries, (rows[-1].id if more else None)


def tier_history(session: Session, member_id: int, limit: int = 50) -> list[dict]:
    with reading(session):
        _member(session, member_id)
        rows: list[TierHistory] = tiers.history(session, member_id, limit)
    return [{"from_tier": r.from_tier, "from_name": tier_name(r.from_tier),
             "to_tier": r.to_tier, "to_name": tier_name(r.to_tier),
             "reason": r.reason, "reason_zh": TIER_REASONS_ZH.get(r.reason, "其他"), "at": r.at}
            for r in rows]
