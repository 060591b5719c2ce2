"""The yearly tier review: a member whose qualifying spend no longer reaches their tier
drops, on the anniversary of the day they reached it, to the tier it does reach.

Setting `tier_review`: `never` (default: tiers only go down on refunds) or `yearly`. The
member's anniversary is `member.tier_since` (the local day of their last tier change);
29 February is reviewed on 28 February in other years. Qualifying spend is that of
loyalty/tiers.py (cumulative, or the last `tier_window_months` months up to the moment the
review runs): the yearly review is what makes a rolling window bite. With cumulative spend
it only applies thresholds raised since the member reached their tier.

A review lowers, never raises (payments raise). Every member reviewed gets a `tier_review`
row, unique per (member, review date), kept or lowered, so running a day twice, from the
scheduler and the CLI at once, or catching up on missed days, reviews each member once per
date. A lowering is also a `tier_history` row (reason `review`, cause `review:<date>`) and
restarts the anniversary at the review date.

Set-based in batches (keyset on member id): one query picks a batch of due members and
locks their rows, one aggregate sums their window spend, then one UPDATE per (old, new)
tier pair and bulk inserts of the review and history rows.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, extract, insert, not_, select, update

from wx_member.db import UnitOfWork, retrying
from wx_member.clock import local_day, utcnow
from wx_member.models import Member, TierHistory, TierReview
from wx_member.platform import keyset, settings
from wx_member.loyalty import tiers
from wx_member.platform.errors import DomainError

log = logging.getLogger(__name__)
BATCH = 1000
CATCH_UP_DAYS = 7  # the daily job also reviews the days before, in case it did not run


class InvalidReview(DomainError):
    code = "INVALID_REVIEW"
    user_message = "无法复核该日期的会员等级。"


@dataclass
class ReviewResult:
    day: date
    mode: str
    reviewed: int = 0
    lowered: Counter = field(default_factory=Counter)  # (from, to) → members


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _due(day: date):
    """Members above 普通 whose tier anniversary is `day` and who were not reviewed on it."""
    days = [day.day]
    if (day.month, day.day) == (2, 28) and not _leap(day.year):
        days.append(29)
    return (select(Member.id, Member.tier, Member.total_spend_fen)
            .where(Member.tier != "normal", Member.tier_since.is_not(None),
                   Member.tier_since < day,
                   extract("month", Member.tier_since) == day.month,
                   extract("day", Member.tier_since).in_(days),
                   not_(exists().where(TierReview.member_id == Member.id,
                                       TierReview.review_date == day))))


def review(uow: UnitOfWork, day: date, tz: ZoneInfo, now: datetime | None = None,
           batch: int = BATCH) -> ReviewResult:
    """Use case: review the members whose tier anniversary is local date `day` (today or
    earlier). Does nothing while `tier_review` is `never`."""
    now = now or utcnow()
    if day > local_day(now, tz):
        raise InvalidReview(f"cannot review {day}: it is in the future ({tz.key})")
    with uow.read() as session:
        result = ReviewResult(day, settings.get(session, "tier_review"))
    if result.mode != "yearly":
        return result
    last = 0
    while True:
        # A deadlock with a payment: redo the batch.
        done = retrying(f"tier review {day} after member {last}",
                        lambda: _review_batch(uow, day, now, last, batch))
        if done is None:
            break
        last, reviewed, lowered = done
        result.reviewed += reviewed
        result.lowered.update(lowered)
    if result.reviewed:
        log.info("tier review %s: %d reviewed, lowered %s", day, result.reviewed,
                 dict(result.lowered))
    return result


def review_due(uow: UnitOfWork, tz: ZoneInfo, now: datetime | None = None) -> list[ReviewResult]:
    """Use case (the daily job): today's review and the CATCH_UP_DAYS before it, so a day
    the scheduler missed is reviewed late rather than never."""
    now = now or utcnow()
    today = local_day(now, tz)
    return [review(uow, today - timedelta(days=n), tz, now)
            for n in range(CATCH_UP_DAYS - 1, -1, -1)]


def _review_batch(uow: UnitOfWork, day: date, now: datetime, after_id: int,
                  batch: int) -> tuple[int, int, Counter] | None:
    """One batch in one transaction: (last member id, members reviewed, lowerings by
    (from, to)), or None when no member is left."""
    with uow.write() as session:
        rows = session.execute(keyset.after(_due(day), Member.id, after_id, batch)
                               .with_for_update()).all()
        if not rows:
            return None
        ids = [r.id for r in rows]
        # Locked now: a concurrent reviewer that got there first has committed its rows.
        done = set(session.scalars(select(TierReview.member_id).where(
            TierReview.member_id.in_(ids), TierReview.review_date == day)))
        since = tiers.window_start(session, now)
        spend = (tiers.window_spend(session, ids, since) if since is not None
                 else {r.id: r.total_spend_fen for r in rows})
        ladder = tiers.thresholds(session)
        paid = tiers.paid_tiers(session, ids, now)  # a paid tier still running is a floor
        reviews, history, moves = [], [], {}
        for r in rows:
            if r.id in done:
                continue
            qualifying = spend.get(r.id, 0)
            reached = tiers.higher(tiers.tier_reached(ladder, qualifying),
                                   paid.get(r.id, "normal"))
            new = reached if tiers.rank(reached) < tiers.rank(r.tier) else r.tier
            reviews.append({"member_id": r.id, "review_date": day, "from_tier": r.tier,
                            "to_tier": new, "qualifying_fen": qualifying, "at": now})
            if new != r.tier:
                moves.setdefault((r.tier, new), []).append(r.id)
                history.append({"member_id": r.id, "from_tier": r.tier, "to_tier": new,
                                "reason": "review", "cause": f"review:{day.isoformat()}",
                                "total_spend_fen": qualifying, "at": now})
        if reviews:
            session.execute(insert(TierReview), reviews)
        for (old, new), members in moves.items():
            session.execute(update(Member).where(Member.id.in_(members), Member.tier == old)
                            .values(tier=new, tier_since=day)
                            .execution_options(synchronize_session=False))
        if history:
            session.execute(insert(TierHistory), history)
    return ids[-1], len(reviews), Counter({pair: len(m) for pair, m in moves.items()})
