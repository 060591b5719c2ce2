"""The points ledger: the only way a balance changes.

Each entry is an append-only row with a unique idempotency key derived from its cause;
`member.points_balance` is a cache of the ledger sum, moved in the same transaction by a
single UPDATE so concurrent entries cannot lose each other, and a debit is refused by the
database itself (`... WHERE points_balance >= n`) rather than by a read-then-write race.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wx_member.metrics import note_ledger_write
from wx_member.clock import utcnow
from wx_member.models import Member, PointsLedger
from wx_member.console import audit
from wx_member.loyalty import points_expiry
from wx_member.platform.errors import InsufficientPoints, InvalidAmount

_LEDGER, _MEMBER = PointsLedger.__table__, Member.__table__
# Built once: Core statements on the tables, executed with parameters (see db.py).
_ENTRY = insert(_LEDGER)
_CREDIT = (update(_MEMBER).where(_MEMBER.c.id == bindparam("member"))
           .values(points_balance=_MEMBER.c.points_balance + bindparam("delta")))
_DEBIT = _CREDIT.where(_MEMBER.c.points_balance >= bindparam("spend"))
_BALANCE = select(_MEMBER.c.points_balance).where(_MEMBER.c.id == bindparam("member"))
_MOVES = {False: _CREDIT, True: _DEBIT}
_MOVES_RETURNING = {k: m.returning(_MEMBER.c.points_balance) for k, m in _MOVES.items()}


def post(session: Session, member: Member, delta: int, reason: str, idem_key: str,
         source: str | None = None, expires_at: datetime | None = None,
         now: datetime | None = None) -> int | None:
    """Write one ledger entry inside the caller's transaction.

    Returns the new entry's id, or None when `idem_key` was already posted (a replay:
    nothing changes). Raises InsufficientPoints when a debit would take the balance below
    zero. Core statements, not the ORM: entries are never updated, and this is the hot path.

    A credit is a lot: unless `expires_at` is given, it lapses by the expiry settings in
    force at `now` (when it was earned; default: the present), see points_expiry.py. Points
    given back by a cancelled redemption (reason points_expiry.RESTORE) are no lot: the row
    undoes the debit, and the points keep the expiry they had.
    """
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidAmount(f"delta must be a non-zero integer, got {delta!r}")
    now = now or utcnow()
    if reason == points_expiry.RESTORE:
        expires_at = None
    elif delta > 0 and expires_at is None:
        expires_at = points_expiry.lot_expiry(session, now)
    session.flush()  # Core statements do not autoflush; the member's row must exist
    entry = {"member_id": member.id, "delta": delta, "reason": reason, "idem_key": idem_key,
             "source": source, "expires_at": expires_at, "created_at": now}
    params = {"member": member.id, "delta": delta, "spend": -delta}
    # The balance the UPDATE leaves, from the UPDATE itself where the database can say
    # (SQLite: RETURNING), else read again after it (MariaDB): another transaction may
    # have moved it since `member` was loaded, and this one now holds the row.
    returning = session.get_bind().dialect.update_returning
    if delta > 0:
        # No savepoint: a failed statement undoes only itself (SQLite and InnoDB alike), so
        # losing the race for the key leaves the transaction as it was; and a credit's
        # UPDATE is never refused.
        try:
            entry_id = session.execute(_ENTRY, entry).inserted_primary_key[0]
        except IntegrityError:
            return None
        balance = _move(session, False, params, returning)
    else:
        try:
            # A savepoint: a refused debit must undo the entry written before it.
            with session.begin_nested():
                entry_id = session.execute(_ENTRY, entry).inserted_primary_key[0]
                balance = _move(session, True, params, returning)
                if balance is None:
                    raise InsufficientPoints(f"member {member.id} cannot spend {-delta}")
        except IntegrityError:
            return None
    note_ledger_write(session, "points", reason)  # counted in /metrics once committed
    set_committed_value(member, "points_balance", balance)
    return entry_id


def _move(session: Session, debit: bool, params: dict, returning: bool) -> int | None:
    """Move the balance; the balance it left, or None when it moved no row (a refused
    debit)."""
    if returning:
        return session.execute(_MOVES_RETURNING[debit], params).scalar()
    if session.execute(_MOVES[debit], params).rowcount != 1:
        return None
    return session.scalar(_BALANCE, {"member": params["member"]})


def ledger_sum(session: Session, member_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0))
                              .where(PointsLedger.member_id == member_id)))


def history(session: Session, member_id: int, limit: int = 50) -> list[PointsLedger]:
    return list(session.scalars(select(PointsLedger).where(PointsLedger.member_id == member_id)
                                .order_by(PointsLedger.id.desc()).limit(limit)))


def adjust(session: Session, member: Member, delta: int, note: str, key: str,
           by: str) -> int | None:
    """Use case: an operator adds or removes points, with a reason, once per key; the
    adjustment is in the audit log too."""
    if not note.strip():
        raise InvalidAmount("a reason is required", user_message="请填写调整原因。")
    with session.begin():
        before = member.points_balance
        entry = post(session, member, delta, "adjust", f"adjust:{key}",
                     source=f"{by}: {note}"[:100])
        if entry is not None:
            audit.record(session, by, "points.adjust", member.card_no or member.openid,
                         {"points": before},
                         {"points": member.points_balance, "delta": delta, "reason": note})
        return entry
