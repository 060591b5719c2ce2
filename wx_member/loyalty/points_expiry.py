"""Points expiry: when a lot lapses, which points lapse first, and the daily expiry run.

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

One grouped INSERT … SELECT writes those rows (reason `expire`, key `expire:<member>:<day>`)
and one UPDATE moves `member.points_balance` by them; nothing is ever edited. Since
L(C) ≤ all points earned, due ≤ balance: a run never takes a balance below zero. A lot stays
spendable until the run that removes it, and a debit may be counted against a lot earned
after it (only possible when the mode changed and a newer lot lapses before an older one):
the rule then expires less than strict first-in-first-out would, never more.

**The run** goes through members in id ranges, one transaction each: it first locks the
range's member rows (as every debit does before moving a balance), so a redemption in
flight either commits before the range is read or waits and then sees the lower balance.
Replays and overlapping runs write nothing (the due amount is then 0); a crash half-way
leaves finished ranges done and the rest for the next run.
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import (Select, String, and_, bindparam, case, cast, func, insert, literal, null,
                        or_, select, update)
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import UnitOfWork, programme_tz, retrying
from wx_member.clock import day_start, local_day, local_to_utc, utcnow
from wx_member.models import Member, PointsLedger
from wx_member.platform import audit, settings

NEVER, ROLLING, YEARLY = 0, 1, 2
MODES = {NEVER: "never", ROLLING: "rolling", YEARLY: "yearly"}
EXPIRE = "expire"  # the reason of an expiry row
# Points given back by a cancelled redemption: not a lot but a debit undone (a negative
# debit below), so they keep the expiry of the lots the debit had taken.
RESTORE = "redeem_cancel"
CHUNK = 10_000  # members per transaction in the run
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
    day = last_day(local_day(earned_at, tz), mode, settings.get(session, "points_expiry_months"),
                   settings.get(session, "points_expiry_mmdd"))
    return day_end_utc(day, tz)


# -- the run ----------------------------------------------------------------------------
@dataclass
class ExpiryResult:
    as_of: date  # lots whose last day is on or before this local day have lapsed
    members: int = 0  # members who lost points now
    points: int = 0
    dry_run: bool = False
    seconds: float = 0.0


def _due_query(cutoff: datetime) -> tuple[Select, object]:
    """Per member, the points that must lapse at `cutoff` and have not yet (only > 0)."""
    lapsed = func.sum(case((and_(L.delta > 0, L.expires_at < cutoff), L.delta), else_=0))
    spent = func.sum(case((L.reason == RESTORE, -L.delta),
                          (and_(L.delta < 0, L.reason != EXPIRE), -L.delta), else_=0))
    expired = func.sum(case((L.reason == EXPIRE, -L.delta), else_=0))
    due = lapsed - spent - expired
    return select(L.member_id).group_by(L.member_id).having(due > 0), due


def run(uow: UnitOfWork, as_of: date | None = None, *, tz: ZoneInfo | None = None,
        now: datetime | None = None, dry_run: bool = False, chunk: int = CHUNK) -> ExpiryResult:
    """Use case: expire every lot whose last local day is `as_of` or earlier (default: local
    yesterday, so the daily run just after midnight takes what lapsed at midnight).
    Idempotent; `dry_run` counts what would lapse and writes nothing."""
    started = _time.perf_counter()
    now = now or utcnow()
    tz = tz or programme_tz(uow)
    as_of = as_of or local_day(now, tz) - timedelta(days=1)
    cutoff = day_start(as_of + timedelta(days=1), tz)
    result = ExpiryResult(as_of, dry_run=dry_run)
    if dry_run:
        q, due = _due_query(cutoff)
        sub = q.add_columns(due.label("due")).subquery()
        with uow.read() as session:
            n, total = session.execute(select(func.count(),
                                              func.coalesce(func.sum(sub.c.due), 0))).one()
        result.members, result.points = int(n), int(total)
    else:
        with uow.read() as session:
            low, high = session.execute(select(func.min(Member.id), func.max(Member.id))).one()
        for lo in range(low or 0, (high or -1) + 1, chunk):
            n, total = retrying(f"points expiry {as_of} from member {lo}",
                                lambda lo=lo: _expire_range(uow, lo, lo + chunk, cutoff,
                                                            as_of, now))
            result.members += n
            result.points += total
    result.seconds = _time.perf_counter() - started
    return result


def run_by_hand(uow: UnitOfWork, *, by: str, tz: ZoneInfo | None = None) -> ExpiryResult:
    """Use case: the expiry run an admin starts from the console (the scheduler's `run`,
    the same day and lots, so running early takes nothing twice), then one audit row: who,
    up to which local day, how many members lost how many points."""
    result = run(uow, tz=tz)
    with uow.write() as session:
        audit.record(session, by, "points.expire_run", result.as_of.isoformat(), None,
                     {"as_of": result.as_of.isoformat(), "members": result.members,
                      "points": result.points})
    return result


def lock_members(session: Session, lo: int, hi: int) -> None:
    """Lock members lo ≤ id < hi until the transaction ends. Every debit moves its member's
    row (most lock it first), so none is between reading and moving a balance while the run
    computes what is due; they wait, then see the lower balance."""
    session.execute(select(func.count()).select_from(Member)
                    .where(Member.id >= lo, Member.id < hi).with_for_update())


def _expire_range(uow: UnitOfWork, lo: int, hi: int, cutoff: datetime, as_of: date,
                  now: datetime) -> tuple[int, int]:
    in_range = and_(L.member_id >= lo, L.member_id < hi)
    with uow.write() as session:
        lock_members(session, lo, hi)
        watermark = session.scalar(select(func.coalesce(func.max(L.id), 0)))
        q, due = _due_query(cutoff)
        source = f"expiry run {as_of.isoformat()}"
        # A second run on the same day can find more due (a cancelled cash-off gave back
        # points whose day had passed): its row is numbered, `expire:<member>:<day>:1`, … .
        # A replay with nothing due writes nothing (the query keeps due > 0 only), and the
        # range lock keeps two runs from numbering alike.
        earlier = func.sum(case((and_(L.reason == EXPIRE, L.source == source), 1), else_=0))
        key = (literal("expire:") + cast(L.member_id, String) + literal(f":{as_of.isoformat()}")
               + case((earlier > 0, literal(":") + cast(earlier, String)), else_=literal("")))
        rows = q.where(in_range).add_columns(
            (-due).label("delta"), literal(EXPIRE).label("reason"), key.label("idem_key"),
            literal(source).label("source"),
            null().label("expires_at"), literal(now).label("created_at"))
        session.execute(insert(L).from_select(
            ["member_id", "delta", "reason", "idem_key", "source", "expires_at", "created_at"],
            rows))
        # Ours: expiry rows of this range newer than the watermark (ranges are locked).
        new = (select(L.member_id, L.delta)
               .where(L.id > watermark, L.reason == EXPIRE, in_range).subquery())
        n, total = session.execute(select(func.count(),
                                          func.coalesce(func.sum(new.c.delta), 0))).one()
        if n:
            session.execute(update(Member).where(Member.id == new.c.member_id)
                            .values(points_balance=Member.points_balance + new.c.delta)
                            .execution_options(synchronize_session=False))
    return int(n), -int(total)


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
    left = int(statements.rows(session, _TAKEN, {"member": member_id}).scalar())
    lots = statements.rows(session, _LOTS, {"member": member_id})
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
