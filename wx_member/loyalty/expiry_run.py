"""The daily points expiry run: what `points_expiry.due` says has lapsed, written as ledger
rows in keyset batches of members, visiting only the members something happened to since the
last finished run.

**Where it starts.** Each finished run leaves a mark (`points_expiry_mark`): its cutoff C0
and a ledger id W0 such that every row up to W0 was counted. After it, no member has points
due at C0 or before (due only grows with the cutoff). Points become due again only by
  - a lot lapsing at or after C0 (index `ix_points_ledger_expires`, from the index alone), or
  - a row written after the run: a lot posted with an expiry already past, or points given
    back by a cancelled cash-off (`RESTORE`) whose lots have lapsed (ids above W0: a range
    of the primary key, one day of rows for a daily run);
debits and expiry rows only lower it. So the run visits those members only, and a replay,
or a day on which nothing lapsed, reads a few index entries. Without a mark (the first run
after the upgrade, or ever) it visits every member in id order, as the run always did.

W0 is the id of the newest row written more than `SETTLED` before the run, not the newest
row: ids are handed out when a row is inserted, not when it commits, so a row with a smaller
id than one the run saw may still be in flight; one written that long ago has long been
committed (the application's transactions last well under a second, and its clocks agree
to within minutes).
Rows after W0 are read again by the next run, which costs a scan of one day and an hour.

**A batch** is one transaction: lock the members (as every debit does before moving a
balance, so a redemption in flight either commits first or waits and then sees the lower
balance), one grouped `INSERT … SELECT` of the expiry rows over the members' ledger rows
(`ix_points_ledger_lots` covers it), one `UPDATE … JOIN` of the balances by exactly the rows
it wrote. Replays and overlapping runs write nothing (due is then 0); a crash half-way leaves
finished batches done, and no mark, so the next run looks at everything since the last one.
"""
from __future__ import annotations

import time as _time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (String, and_, case, cast, func, insert, literal, null, or_, select,
                        update)
from sqlalchemy.orm import Session, aliased

from wx_member.clock import day_start, local_day, utcnow
from wx_member.db import UnitOfWork, programme_tz, retrying
from wx_member.loyalty.points_expiry import EXPIRE, RESTORE, due_query
from wx_member.models import Member, PointsExpiryMark, PointsLedger
from wx_member.platform import audit, keyset

L = PointsLedger
# Members per transaction in the run: each holds its members' rows for about 2 s on the
# bench box (1 M members: 20 transactions; 10,000 took ~10 % longer, per-batch statements).
CHUNK = 50_000
SPARSE = 2_000  # members per batch named one by one (those between have nothing due)
SETTLED = timedelta(hours=1)  # rows written longer ago than this are committed


@dataclass
class ExpiryResult:
    as_of: date  # lots whose last day is on or before this local day have lapsed
    members: int = 0  # members who lost points now
    points: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    visited: int | None = None  # members looked at since the last mark (None: every member)


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
    with uow.read() as session:
        mark = session.scalars(select(PointsExpiryMark).order_by(
            PointsExpiryMark.cutoff.desc(), PointsExpiryMark.ledger_id.desc()).limit(1)).first()
        counted_to = _settled_id(session, now)
        visit = None if mark is None else _to_visit(session, mark, cutoff)
    result.visited = None if visit is None else len(visit)
    for members in (_every_member(uow, chunk) if visit is None else _slices(visit, chunk)):
        if dry_run:
            with uow.read() as session:
                n, total = _due_total(session, members, cutoff)
        else:
            n, total = retrying(f"points expiry {as_of} of members {members.left}…",
                                lambda m=members: _expire(uow, m, cutoff, as_of, now))
        result.members += n
        result.points += total
    if not dry_run and (mark is None or cutoff >= mark.cutoff):
        with uow.write() as session:
            session.add(PointsExpiryMark(as_of=as_of, cutoff=cutoff, ledger_id=counted_to,
                                         members=result.members, points=result.points,
                                         finished_at=now))
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


def _settled_id(session: Session, now: datetime) -> int:
    """The newest ledger id written more than SETTLED before `now` (0: none)."""
    found = session.scalar(select(L.id).where(L.created_at < now - SETTLED)
                           .order_by(L.id.desc()).limit(1))
    return found or 0


def _to_visit(session: Session, mark: PointsExpiryMark, cutoff: datetime) -> list[int]:
    """Members whose due may have grown since `mark` (see the module's doc), in id order."""
    found: set[int] = set()
    if cutoff > mark.cutoff:
        found.update(session.scalars(select(L.member_id).distinct().where(
            L.expires_at >= mark.cutoff, L.expires_at < cutoff)))
    # Not DISTINCT: SQLite would rather walk a member_id index than the rowid range.
    found.update(session.scalars(select(L.member_id)
                                 .with_hint(L, "FORCE INDEX (PRIMARY)", "mysql").where(
        L.id > mark.ledger_id,
        or_(and_(L.delta > 0, L.expires_at < cutoff), L.reason == RESTORE))))
    return sorted(found)


@dataclass(frozen=True)
class Members:
    """A batch: members `left` ≤ id ≤ `right`, or only `ids` among them."""
    left: int
    right: int
    ids: tuple[int, ...] | None = None

    def where(self, column):
        within = column.between(self.left, self.right)
        return within if self.ids is None else and_(within, column.in_(self.ids))


def _every_member(uow: UnitOfWork, chunk: int) -> Iterator[Members]:
    """Every member, `chunk` at a time, in id order (keyset: the last id is the cursor)."""
    cursor = None
    while True:
        batch = keyset.after(select(Member.id), Member.id, cursor, chunk).subquery()
        with uow.read() as session:  # the batch's bounds, not its ids
            left, right = session.execute(select(func.min(batch.c.id),
                                                 func.max(batch.c.id))).one()
        if left is None:
            return
        yield Members(left, right)
        cursor = right


def _slices(ids: list[int], chunk: int) -> Iterator[Members]:
    """`ids` (sorted), `chunk` at a time as a plain id range where they are dense, else
    at most SPARSE of them as a list (a bound parameter each: SQLite allows 32,766)."""
    i = 0
    while i < len(ids):
        part = ids[i:i + chunk]
        if part[-1] - part[0] + 1 <= 2 * len(part):
            yield Members(part[0], part[-1])
        else:
            part = part[:SPARSE]
            yield Members(part[0], part[-1], tuple(part))
        i += len(part)


def lock_members(session: Session, members: Members) -> None:
    """Lock the batch's member rows until the transaction ends. Every debit moves its
    member's row (most lock it first), so none is between reading and moving a balance
    while the run computes what is due; they wait, then see the lower balance."""
    session.execute(select(func.count()).select_from(Member)
                    .where(members.where(Member.id)).with_for_update())


def _due_total(session: Session, members: Members, cutoff: datetime) -> tuple[int, int]:
    q, due = due_query(cutoff)
    sub = q.where(members.where(L.member_id)).add_columns(due.label("due")).subquery()
    n, total = session.execute(select(func.count(), func.coalesce(func.sum(sub.c.due), 0))).one()
    return int(n), int(total)


def _expire(uow: UnitOfWork, members: Members, cutoff: datetime, as_of: date,
            now: datetime) -> tuple[int, int]:
    with uow.write() as session:
        lock_members(session, members)
        before = session.scalar(select(func.coalesce(func.max(L.id), 0)))
        q, due = due_query(cutoff)
        source = f"expiry run {as_of.isoformat()}"
        rows = q.where(members.where(L.member_id)).add_columns(
            (-due).label("delta"), literal(EXPIRE).label("reason"),
            _key(as_of, source).label("idem_key"), literal(source).label("source"),
            null().label("expires_at"), literal(now).label("created_at"))
        session.execute(insert(L).from_select(
            ["member_id", "delta", "reason", "idem_key", "source", "expires_at", "created_at"],
            rows))
        # Ours: the expiry rows of these members after `before` (they are locked), read by
        # the primary key: the rows just written, not every expiry row there ever was.
        # (SQLite has no hint for its rowid: `+ 0` and `|| ''` keep it off the indexes.)
        new = (select(L.member_id, L.delta)
               .with_hint(L, "FORCE INDEX (PRIMARY)", "mysql")
               .where(L.id > before, (L.reason + "") == EXPIRE,
                      members.where(L.member_id + 0))
               .subquery())
        n, total = session.execute(select(func.count(),
                                          func.coalesce(func.sum(new.c.delta), 0))).one()
        if n:
            # The member range as well: else MariaDB reads every member to join them.
            session.execute(update(Member).where(Member.id == new.c.member_id,
                                                 members.where(Member.id))
                            .values(points_balance=Member.points_balance + new.c.delta)
                            .execution_options(synchronize_session=False))
    return int(n), -int(total)


def _key(as_of: date, source: str):
    """`expire:<member>:<day>`; a second run for the same day that finds more due (a
    cancelled cash-off gave back points whose day had passed) numbers its row, `…:1`, … .
    Both lookups run only for members with something due: the first is one probe of the
    unique key, the second reads that member's expiry rows."""
    E = aliased(PointsLedger)
    key = literal("expire:") + cast(L.member_id, String) + literal(f":{as_of.isoformat()}")
    taken = select(E.id).where(E.idem_key == key).exists()
    earlier = (select(func.count()).where(E.member_id == L.member_id, E.reason == EXPIRE,
                                          E.source == source).scalar_subquery())
    return key + case((taken, literal(":") + cast(earlier, String)), else_=literal(""))
