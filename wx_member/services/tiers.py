"""Tiers and the earn rule: what a payment is worth in points, and which tier a member's
cumulative spend puts them in.

Tiers are decided on `member.total_spend_fen` (paid minus refunded, in fen) against the
thresholds in settings (defaults: 银卡 200, 金卡 500, 钻石 1,000 yuan). A payment can only
raise a tier; a refund re-evaluates it both ways. Every change is a `tier_history` row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wx_member.models import Member, TierHistory, utcnow
from wx_member.services import settings

LADDER = ("normal", "silver", "gold", "diamond")  # lowest first


def rank(tier: str) -> int:
    # An unknown tier (set by hand) ranks as normal rather than breaking payments.
    return LADDER.index(tier) if tier in LADDER else 0


def threshold_fen(session: Session, tier: str) -> int:
    return 0 if tier == "normal" else settings.get(session, f"tier_{tier}_fen")


def tier_for_spend(session: Session, total_spend_fen: int) -> str:
    """The highest tier whose threshold the spend has reached."""
    reached = "normal"
    for tier in LADDER[1:]:
        if total_spend_fen >= threshold_fen(session, tier):
            reached = tier
    return reached


def rate_percent(session: Session, tier: str) -> int:
    return settings.get(session, f"tier_{tier if tier in LADDER else 'normal'}_rate")


def points_for(session: Session, amount_fen: int, tier: str) -> int:
    """Points earned by paying `amount_fen` at `tier`:

        floor(amount_fen / 100 × points_per_yuan × rate_percent / 100)

    computed in integers on fen (amount_fen × points_per_yuan × rate // 10000), so nothing
    is rounded before the end and the result is always rounded *down* to a whole point:
    19.99 yuan at 银卡 (120%) is 23.988 → 23 points; 0.99 yuan at 普通 earns nothing.
    """
    if amount_fen <= 0:
        return 0
    per_yuan = settings.get(session, "points_per_yuan")
    return amount_fen * per_yuan * rate_percent(session, tier) // 10000


def evaluate(session: Session, member: Member, reason: str, cause: str,
             upgrade_only: bool, now: datetime | None = None) -> str | None:
    """Move the member to the tier their current total spend earns, inside the caller's
    transaction, which must hold the member's row (services/orders.py locks it first).

    `upgrade_only` (payments): never lower a tier. Returns the new tier, or None when it
    does not change. `member.total_spend_fen` must be current."""
    new = tier_for_spend(session, member.total_spend_fen)
    old = member.tier
    if new == old or (upgrade_only and rank(new) < rank(old)):
        return None
    session.execute(update(Member).where(Member.id == member.id).values(tier=new)
                    .execution_options(synchronize_session=False))
    session.execute(insert(TierHistory).values(
        member_id=member.id, from_tier=old, to_tier=new, reason=reason, cause=cause,
        total_spend_fen=member.total_spend_fen, at=now or utcnow()))
    set_committed_value(member, "tier", new)
    return new


def history(session: Session, member_id: int, limit: int = 50) -> list[TierHistory]:
    return list(session.scalars(select(TierHistory).where(TierHistory.member_id == member_id)
                                .order_by(TierHistory.id.desc()).limit(limit)))
