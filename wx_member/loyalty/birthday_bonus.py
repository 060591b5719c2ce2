"""Birthday bonus points: the member's tier's `tier_<tier>_birthday_points` (settings, set
per tier on the console's tiers screen; 0 = none) once a year, in the member's birthday
month, to subscribed members with a birthday set. The tier is the one the member holds when
the points are credited (a member whose tier gives none gets nothing that day, and is
credited later in the month if a payment lifts them to a tier that gives some).

Credited from the birthday itself (local date, 29 February on 28 February in other years)
until the end of that month: the daily job credits everyone whose birthday has come this
month and who has no entry yet, so a day the scheduler missed is made up the next day. The
ledger key `birthday:<member id>:<year>` makes it once per member and year, whoever runs
it and however often. The birthday push (pushes/planners.py) runs this first and tells
the member how many points were added.
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import exists, extract, not_, select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.models import Member, PointsLedger
from wx_member.loyalty import points
from wx_member.platform import keyset, settings

log = logging.getLogger(__name__)
BATCH = 1000


def key_for(member_id: int, year: int) -> str:
    return f"birthday:{member_id}:{year}"


def _entry_of(year: int):
    """The member's entry of `year`, as a condition correlated to Member: its own rows and a
    pattern, not a concatenated key (MariaDB refuses to compare CAST() text, in the
    connection's collation, with the column's)."""
    return (PointsLedger.member_id == Member.id,
            PointsLedger.idem_key.like(f"birthday:%:{year}"))


def bonus_column(year: int):
    """The member's birthday bonus of `year` (None before it is credited), per row."""
    return select(PointsLedger.delta).where(*_entry_of(year)).limit(1).scalar_subquery()


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def points_for_tier(session: Session, tier: str) -> int:
    """The birthday points a member of `tier` is given (an unknown tier: 普通会员's)."""
    tier = tier if tier in settings.BIRTHDAY_TIERS else "normal"
    return settings.get(session, f"tier_{tier}_birthday_points")


def credit(uow: UnitOfWork, today: date, batch: int = BATCH) -> int:
    """Use case: credit this year's birthday points, as the member's tier gives them, to
    every subscribed member whose birthday (month and day) has come this month by local
    date `today` and who has not had them. One transaction per batch of members. Returns
    how many were credited now."""
    with uow.read() as session:
        amounts = {tier: points_for_tier(session, tier) for tier in settings.BIRTHDAY_TIERS}
    giving = [tier for tier, amount in amounts.items() if amount]
    if not giving:
        return 0
    last_day = 29 if (today.month, today.day) == (2, 28) and not _leap(today.year) else today.day
    # Only the tiers that give points: members of the others are not read day after day.
    tier_gives = (Member.tier.in_(giving) if "normal" not in giving
                  else Member.tier.not_in([t for t in amounts if t not in giving]))
    due = (select(Member).where(
        Member.subscribed.is_(True), Member.birthday.is_not(None), tier_gives,
        extract("month", Member.birthday) == today.month,
        extract("day", Member.birthday) <= last_day,
        not_(exists().where(*_entry_of(today.year)))))
    credited = 0
    for session, members in keyset.batches(uow.write, due, Member.id, size=batch, scalars=True):
        for m in members:
            amount = amounts.get(m.tier, amounts["normal"])
            if amount and points.post(session, m, amount, "birthday",
                                      key_for(m.id, today.year), source=f"{today.year}"):
                credited += 1
    if credited:
        log.info("birthday points: %d members credited (by tier: %s)", credited, amounts)
    return credited
