"""Points expiry: when a lot lapses, which points lapse first, what is due, what lapses next.

**Lots.** Every positive ledger row is a lot. Its `expires_at` is stamped when it is
earned (`points.post` calls `lot_expiry`), by the mode in force then (settings
`points_expiry_mode`): never; rolling, the end of the local day `points_expiry_months`
after it was earned (31 Jan + 1 month → 28/29 Feb); yearly clearing, the end of month-day
`points_expiry_mmdd` of the local year after it was earned. "End of the local day" is
23:59:59 in the programme's zone, stored in UTC, so the lot belongs to that local day
everywhere (notices, the mini-program) and changing the mode never rewrites old lots.

**FIFO, without a "remaining" column.** Every debit (a redemption, a refund taking points
back, an operator's deduction) consumes the earliest-expiring lots first; lots that never
expire come last. Then, for a member at a cutoff C, with L(C) the points of lots expiring
before C, S every debit except expiry, and X what has already expired:

    due(C) = max(0, L(C) − S) − X          (written only when > 0)

Points given back by a cancelled cash-off (reason RESTORE) are no lot: they reduce S, as if
the debit had never been, so they keep the expiry of the lots it took (and lapse at the
next run if that day has passed); a cancel never extends the life of points.

`due_query` is that rule for a set of members at once; the daily run (`expiry_run.py`)
writes what it finds as ledger rows (reason `expire`, key `expire:<member>:<day>`) and moves
`member.points_balance` by them; nothing is ever edited. Since L(C) ≤ all points earned,
due ≤ balance: a run never takes a balance below zero. A lot stays spendable until the run
that removes it, and a debit may be counted against a lot earned after it (only possible
when the mode changed and a newer lot lapses before an older one): the rule then expires
less than strict first-in-first-out would, never more.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import programme_tz
from wx_member.clock import local_day, local_to_utc
from wx_member.models import PointsLedger
from wx_member.platform import settings

NEVER, ROLLING, YEARLY = 0, 1, 2
MODES = {NEVER: "never", ROLLING: "rolling", YEARLY: "yearly"}
EXPIRE = "expire"  # the reason of an expiry row
# Points given back by a cancelled redemption: not a lot but a debit undone (a negative
# debit below), so they keep the expiry of the lots the debit had taken.
RESTORE = "redeem_cancel"
L = PointsLedger


def day_end_utc(day: date, tz: ZoneInfo) -> datetime:
    """A lot's `expires_at`: the last second (23:59:59) of local `day`, in UTC."""
    return local_to_utc(datetime.combine(day, time(23, 59, 59)), tz)


def _month_day(year: int, mmdd: int) -> date:
    month, day = divmod(mmdd, 100)
    try:
        return date(year, month, day)
    except ValueError:  # 29 February in a common year
        return date(year, month, day - 1)


def last_day(earned_on: date, mode: int, months: int, mmdd: int) -> date | None:
    """The last local day a lot earned on `earned_on` counts (None: it never lapses)."""
    if mode == ROLLING:
        return earned_on + relativedelta(months=months)
    if mode == YEARLY:
        return _month_day(earned_on.year + 1, mmdd)
    return None


def lot_expiry(session: Session, earned_at: datetime,
               tz: ZoneInfo | None = None) -> datetime | None:
    """`expires_at` (UTC) of a lot earned at `earned_at` (UTC) under the settings in force."""
    mode = settings.get(session, "points_expiry_mode")
    if mode == NEVER:
        return None
    tz = tz or programme_tz(session)
    return _lot_end(local_day(earned_at, tz), mode, settings.get(session, "points_expiry_months"),
                    settings.get(session, "points_expiry_mmdd"), tz)


@lru_cache(maxsize=256)
def _lot_end(earned_on: date, mode: int, months: int, mmdd: int, tz: ZoneInfo) -> datetime | None:
    """A pure function of its arguments, remembered: every credit (each join's sign-up
    points) earned on one local day under one setting ends on the same instant, and the
    month arithmetic and zone conversion were a fiftieth of a join."""
    return day_end_utc(last_day(earned_on, mode, months, mmdd), tz)


# -- what is due --------------------------------------------------------------------
def due_query(cutoff: datetime) -> tuple[Select, object]:
    """Per member, the points that must lapse at `cutoff` and have not yet (only > 0).

    L(C) − S − X summed row by row: a lapsed lot adds its points, a debit, an expiry row and
    points given back (RESTORE, which carries no expiry) their delta; only lots still
    counting at C add nothing. One CASE per row, not three: on 10 M rows that is a third
    less work for the server than summing L, S and X apart."""
    counting = and_(L.delta > 0, L.reason != RESTORE,
                    or_(L.expires_at.is_(None), L.expires_at >= cutoff))
    due = func.sum(case((counting, 0), else_=L.delta))
    return select(L.member_id).group_by(L.member_id).having(due > 0), due


# -- what lapses next -------------------------------------------------------------------
def expiring_between(start: datetime, end: datetime) -> Select:
    """Per member, the points of lots expiring in [start, end) still left after FIFO
    consumption (only members with some): `member_id`, `expiring`. Set-based, for notices."""
    # Expiry included; a cancelled redemption's points undo its debit.
    debits = func.sum(case((or_(L.delta < 0, L.reason == RESTORE), -L.delta), else_=0))
    to_end = func.sum(case((and_(L.delta > 0, L.expires_at < end), L.delta), else_=0))
    before = func.sum(case((and_(L.delta > 0, L.expires_at < start), L.delta), else_=0))
    expiring = (case((to_end > debits, to_end - debits), else_=0)
                - case((before > debits, before - debits), else_=0))
    return (select(L.member_id, expiring.label("expiring"))
            .group_by(L.member_id).having(expiring > 0))


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_on: date  # the last local day they count
    expires_at: datetime  # UTC


# Built once (the mini-program's card reads them on every open): what the member's debits
# took, and their lots with an expiry by expiry time.
_LT = PointsLedger.__table__
_TAKEN = (select(func.coalesce(func.sum(-_LT.c.delta), 0))
          .where(_LT.c.member_id == bindparam("member"),
                 or_(_LT.c.delta < 0, _LT.c.reason == RESTORE)))
_LOTS = (select(_LT.c.expires_at, func.sum(_LT.c.delta))
         .where(_LT.c.member_id == bindparam("member"), _LT.c.delta > 0,
                _LT.c.expires_at.is_not(None))
         .group_by(_LT.c.expires_at).order_by(_LT.c.expires_at))


def upcoming(session: Session, member_id: int, tz: ZoneInfo | None = None,
             limit: int = 3) -> list[Expiring]:
    """A member's points that lapse next, by local day, soonest first: what is left of
    each lot after every debit took the earliest-expiring ones (the run's rule). Lots past
    their day that the run has not yet removed are included."""
    tz = tz or programme_tz(session)
    left = int(statements.fetch(session, _TAKEN, {"member": member_id})[0][0])
    lots = statements.fetch(session, _LOTS, {"member": member_id})
    days: dict[date, list] = {}
    for expires_at, amount in lots:
        amount = int(amount)
        taken = min(left, amount)
        left -= taken
        if amount > taken:
            day = local_day(expires_at, tz)
            if day not in days and len(days) == limit:
                break
            days.setdefault(day, [0, expires_at])[0] += amount - taken
    return [Expiring(p, day, at) for day, (p, at) in days.items()]


def soonest(session: Session, member_id: int, tz: ZoneInfo | None = None) -> Expiring | None:
    """The points that lapse first and their day, or None when nothing is due to lapse."""
    found = upcoming(session, member_id, tz, limit=1)
    return found[0] if found else None
