"""Tiers and the earn rule: what a payment is worth in points, and which tier a member's
qualifying spend puts them in.

Qualifying spend (setting `tier_window_months`): 0 (default) = `member.total_spend_fen`,
cumulative paid minus refunded; N = what the member's orders paid in the last N months,
minus their refunds. Tiers start at the thresholds in settings (defaults: 银卡 200, 金卡
500, 钻石 1,000 yuan). A payment can only raise a tier; a refund may lower it (see
`after_refund`); the yearly review (loyalty/tier_review.py) lowers tiers whose spend no
longer qualifies. Every change is a `tier_history` row and sets `member.tier_since`.

A paid tier (付费会员, `paid_tier`: bought through payments/paid_memberships.py) holds until
its end: the member's tier is the higher of the spend tier and the paid tier, so a paid
tier never lowers a tier earned by spend, and nothing lowers a member below a paid tier
still running (refunds, the review). When it ends (`after_paid_expiry`) the member returns
to the tier their spend gives (reason `paid_expired`, or `paid_refund` when a refund ended
it); a purchase raises it (reason `paid`).
"""
from __future__ import annotations

import calendar
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wx_member.clock import local_day, utcnow
from wx_member.models import Member, Order, PaidTier, TierHistory
from wx_member.platform import settings
from wx_member.loyalty.earn_rules import BASE

LADDER = ("normal", "silver", "gold", "diamond")  # lowest first


def rank(tier: str) -> int:
    # An unknown tier (set by hand) ranks as normal rather than breaking payments.
    return LADDER.index(tier) if tier in LADDER else 0


def threshold_fen(session: Session, tier: str) -> int:
    return 0 if tier == "normal" else settings.get(session, f"tier_{tier}_fen")


def thresholds(session: Session) -> list[tuple[str, int]]:
    """(tier, threshold in fen) above 普通, lowest first: read once for many decisions."""
    return [(tier, threshold_fen(session, tier)) for tier in LADDER[1:]]


def tier_reached(ladder: list[tuple[str, int]], spend_fen: int) -> str:
    reached = "normal"
    for tier, threshold in ladder:
        if spend_fen >= threshold:
            reached = tier
    return reached


def tier_for_spend(session: Session, total_spend_fen: int) -> str:
    """The highest tier whose threshold the spend has reached."""
    return tier_reached(thresholds(session), total_spend_fen)


def higher(a: str, b: str) -> str:
    return a if rank(a) >= rank(b) else b


def paid_tiers(session: Session, member_ids: list[int], now: datetime) -> dict[int, str]:
    """The paid tier each of these members holds at `now` (those who hold one)."""
    rows = session.execute(select(PaidTier.member_id, PaidTier.tier).where(
        PaidTier.member_id.in_(member_ids), PaidTier.ends_at > now))
    return {member_id: tier for member_id, tier in rows}


def paid_tier(session: Session, member_id: int, now: datetime) -> str:
    return paid_tiers(session, [member_id], now).get(member_id, "normal")


def rate_percent(session: Session, tier: str) -> int:
    return settings.get(session, f"tier_{tier if tier in LADDER else 'normal'}_rate")


def points_for(session: Session, amount_fen: int, tier: str, multiplier: int = BASE) -> int:
    """Points earned by paying `amount_fen` at `tier` on a day whose earn rule multiplies
    by `multiplier` percent (100: no rule):

        floor(amount_fen / 100 × points_per_yuan × rate% / 100 × multiplier% / 100)

    computed in integers on fen (amount_fen × points_per_yuan × rate × multiplier //
    1,000,000), so nothing is rounded before the end and the result is always rounded
    *down* once: 19.99 yuan at 银卡 (120%) is 23.988 → 23 points, and on a double day
    47.976 → 47 (not 2 × 23); 0.99 yuan at 普通 earns nothing.
    """
    if amount_fen <= 0:
        return 0
    per_yuan = settings.get(session, "points_per_yuan")
    return amount_fen * per_yuan * rate_percent(session, tier) * multiplier // (BASE * 10000)


# ---- qualifying spend --------------------------------------------------------------------

def months_before(at: datetime, months: int) -> datetime:
    """The same day and time `months` earlier (31 March − 1 month → 28/29 February)."""
    index = at.year * 12 + at.month - 1 - months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def window_start(session: Session, now: datetime) -> datetime | None:
    """Where the rolling window starts (naive UTC), or None for cumulative spend."""
    months = settings.get(session, "tier_window_months")
    return months_before(now, months) if months else None


def window_spend(session: Session, member_ids: list[int], since: datetime) -> dict[int, int]:
    """Paid minus refunded, per member, of purchases paid at or after `since` (a window that
    ends "now": orders are not paid in the future, and a late notify may count a later
    order, in the member's favour). Recharges are not spend: the money counts when spent
    from the balance, itself a purchase."""
    rows = session.execute(
        select(Order.member_id, func.sum(Order.amount_fen - Order.refunded_fen))
        .where(Order.member_id.in_(member_ids), Order.paid_at >= since,
               Order.purpose == "purchase")
        .group_by(Order.member_id))
    return {member_id: int(total or 0) for member_id, total in rows}


def qualifying_spend(session: Session, member: Member, now: datetime) -> int:
    since = window_start(session, now)
    if since is None:
        return member.total_spend_fen
    return window_spend(session, [member.id], since).get(member.id, 0)


# ---- changes -----------------------------------------------------------------------------

def move(session: Session, member: Member, new: str, reason: str, cause: str, spend: int,
         at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """Set the tier (and `tier_since`, the local day of `at`, when it was reached) and write
    the history row, inside the caller's transaction, which holds the member's row."""
    old = member.tier
    since = local_day(at, tz)
    session.execute(update(Member).where(Member.id == member.id)
                    .values(tier=new, tier_since=since)
                    .execution_options(synchronize_session=False))
    session.execute(insert(TierHistory).values(
        member_id=member.id, from_tier=old, to_tier=new, reason=reason, cause=cause,
        total_spend_fen=spend, at=now))
    set_committed_value(member, "tier", new)
    set_committed_value(member, "tier_since", since)
    return new


def after_payment(session: Session, member: Member, order: Order, cause: str, tz: ZoneInfo,
                  now: datetime | None = None) -> str | None:
    """Raise the tier to what the qualifying spend up to the payment (`order.paid_at`, this
    order included) reaches; never lower it. The tier counts as reached on the local day of
    the payment, not of the notify (WeChat may deliver it late). Returns the new tier, or
    None. `member.total_spend_fen` must be current."""
    now = now or utcnow()
    spend = qualifying_spend(session, member, order.paid_at)
    new = tier_for_spend(session, spend)
    if rank(new) <= rank(member.tier):
        return None
    return move(session, member, new, "payment", cause, spend, order.paid_at, now, tz)


def after_refund(session: Session, member: Member, order: Order, refund_fen: int, cause: str,
                 tz: ZoneInfo, now: datetime | None = None) -> str | None:
    """Re-evaluate the tier after a refund of `refund_fen` from `order` (already applied to
    the order and to `member.total_spend_fen`).

    Cumulative spend: the tier the remaining spend reaches, either way (as always). Rolling
    window: the refund lowers the tier only when it is what takes the window's spend below
    the tier: a member who held the tier on older spend that has since left the window
    keeps it until their review, rather than losing it to a refund of a small order."""
    now = now or utcnow()
    since = window_start(session, now)
    if since is None:
        spend = member.total_spend_fen
        new = higher(tier_for_spend(session, spend), paid_tier(session, member.id, now))
        if new == member.tier:
            return None
        return move(session, member, new, "refund", cause, spend, now, now, tz)
    if order.paid_at < since:
        return None  # the order no longer counts towards the tier
    after = qualifying_spend(session, member, now)
    held, before, new = (rank(member.tier), rank(tier_for_spend(session, after + refund_fen)),
                         tier_for_spend(session, after))
    new = higher(new, paid_tier(session, member.id, now))
    if before >= held > rank(new):
        return move(session, member, new, "refund", cause, after, now, now, tz)
    return None


def after_paid_purchase(session: Session, member: Member, paid: str, cause: str, at: datetime,
                        tz: ZoneInfo, now: datetime | None = None) -> str | None:
    """A paid tier bought (the member's row locked, `paid_tier` already written): raise the
    tier to it; a higher tier earned by spend stays. Returns the new tier, or None."""
    now = now or utcnow()
    if rank(paid) <= rank(member.tier):
        return None
    return move(session, member, paid, "paid", cause, member.total_spend_fen, at, now, tz)


def after_paid_expiry(session: Session, member: Member, ended: str, cause: str, tz: ZoneInfo,
                      now: datetime | None = None, reason: str = "paid_expired") -> str | None:
    """The member's paid tier `ended` (row locked): back to the tier their qualifying spend
    gives (or a paid tier still running). Only lowers, and only a member whose tier is the
    one that ended: a higher tier was earned by spend and stays (in a rolling window it may
    rest on spend that left the window, which only the yearly review takes away). Returns
    the new tier, or None."""
    now = now or utcnow()
    if rank(member.tier) > rank(ended):
        return None
    spend = qualifying_spend(session, member, now)
    new = higher(tier_for_spend(session, spend), paid_tier(session, member.id, now))
    if rank(new) >= rank(member.tier):
        return None
    return move(session, member, new, reason, cause, spend, now, now, tz)


def history(session: Session, member_id: int, limit: int = 50) -> list[TierHistory]:
    return list(session.scalars(select(TierHistory).where(TierHistory.member_id == member_id)
                                .order_by(TierHistory.id.desc()).limit(limit)))
