"""What a member sees of their own card: number, tier and the way to the next one, points
and the soonest expiring ones (points_expiry's rule: debits took the oldest lots first),
the stored-value balance, points and tier history. Read-only queries over one member,
each use case in one read transaction (`uow.read()`: no write lock on SQLite).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wx_member import labels, statements
from wx_member.db import UnitOfWork
from wx_member.models import Member, PointsLedger, TierHistory
from wx_member.labels import tier_name
from wx_member.platform import paging
from wx_member.loyalty import points_expiry
from wx_member.loyalty import tiers
from wx_member.platform.errors import UnknownMember
from wx_member.loyalty.points_expiry import Expiring

EXPIRY_DATES = 3  # how many upcoming expiry dates the card lists


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
    balance_fen: int  # stored value (储值)
    next_tier: NextTier | None  # None at the top of the ladder
    expiring: list[Expiring]  # soonest first, what is left of those lots


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


def next_tier(session: Session, member) -> NextTier | None:
    """`member`: a Member, or a row with its tier and total_spend_fen."""
    current = tiers.rank(member.tier)
    if current + 1 >= len(tiers.LADDER):
        return None
    target = tiers.LADDER[current + 1]
    floor, threshold = tiers.threshold_fen(session, member.tier), tiers.threshold_fen(session, target)
    spend = member.total_spend_fen
    span = max(threshold - floor, 1)
    progress = min(max((spend - floor) * 100 // span, 0), 99)
    return NextTier(target, tier_name(target), threshold, max(threshold - spend, 0), int(progress))


# Built once (the mini-program reads the card on every open): what the card shows of the
# member row, without loading an ORM object.
_M = Member.__table__
_CARD = select(_M.c.id, _M.c.card_no, _M.c.tier, _M.c.points_balance, _M.c.total_spend_fen,
               _M.c.balance_fen).where(_M.c.id == bindparam("member"))


def card(uow: UnitOfWork, member_id: int, tz: ZoneInfo) -> Card:
    with uow.read() as session:
        found = statements.fetch(session, _CARD, {"member": member_id})
        member = found[0] if found else None
        if member is None:
            raise UnknownMember(f"no member {member_id}")
        return Card(card_no=member.card_no or "", tier=member.tier,
                    tier_name=tier_name(member.tier), points=member.points_balance,
                    total_spend_fen=member.total_spend_fen, balance_fen=member.balance_fen,
                    next_tier=next_tier(session, member),
                    expiring=points_expiry.upcoming(session, member.id, tz, limit=EXPIRY_DATES))


# Built once, with and without a cursor: the history page is read on the cursor
# (statements.fetch), as rows, not ORM objects.
_PL = PointsLedger.__table__
_HISTORY = (select(_PL.c.id, _PL.c.delta, _PL.c.reason, _PL.c.created_at, _PL.c.expires_at)
            .where(_PL.c.member_id == bindparam("member")))
_HISTORY_PAGES = {cursor: (_HISTORY.where(_PL.c.id < bindparam("before")) if cursor else _HISTORY)
                  .order_by(_PL.c.id.desc()).limit(bindparam("rows"))
                  for cursor in (False, True)}


def points_page(uow: UnitOfWork, member_id: int, before: int | None,
                limit: int) -> tuple[list[PointsEntry], int | None]:
    """Newest first; `before` is the cursor the previous page returned (an entry id).
    Returns the entries and the cursor of the next page (None on the last)."""
    params = {"member": member_id, "rows": limit + 1}  # one more: is there a next page?
    if before is not None:
        params["before"] = before
    with uow.read() as session:
        rows, next_before = paging.cut(
            statements.fetch(session, _HISTORY_PAGES[before is not None], params),
            limit, lambda r: r.id)
    entries = [PointsEntry(r.id, r.delta, r.reason, labels.POINTS_REASONS.get(r.reason, "其他"),
                           r.created_at, r.expires_at) for r in rows]
    return entries, next_before


def tier_history(uow: UnitOfWork, member_id: int, limit: int = 50) -> list[dict]:
    with uow.read() as session:
        _member(session, member_id)
        rows: list[TierHistory] = tiers.history(session, member_id, limit)
    return [{"from_tier": r.from_tier, "from_name": tier_name(r.from_tier),
             "to_tier": r.to_tier, "to_name": tier_name(r.to_tier),
             "reason": r.reason, "reason_zh": labels.TIER_REASONS.get(r.reason, "其他"), "at": r.at}
            for r in rows]
