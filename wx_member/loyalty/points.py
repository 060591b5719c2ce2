"""The points ledger: the only way a points balance changes.

Each entry is an append-only row with a unique idempotency key derived from its cause;
`member.points_balance` caches the ledger sum. The rows and the balance move through the
ledger primitive shared with stored value (platform/ledger.py): a replay changes nothing,
the balance moves in the same transaction as its row, and a debit below zero is refused
by the database. What is the points' own is here: a credit is a lot that lapses.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Member, PointsLedger
from wx_member.platform import audit
from wx_member.loyalty import points_expiry
from wx_member.platform.errors import InsufficientPoints, InvalidAmount
from wx_member.platform.ledger import Ledger, check_delta


LEDGER = Ledger("points", PointsLedger, "delta", "points_balance", InsufficientPoints)


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
    check_delta(delta)  # before the lot's expiry is looked up
    now = now or utcnow()
    if reason == points_expiry.RESTORE:
        expires_at = None
    elif delta > 0 and expires_at is None:
        expires_at = points_expiry.lot_expiry(session, now)
    return LEDGER.post(session, member, delta, reason, idem_key, now,
                       source=source, expires_at=expires_at)


def opening(session: Session, member: Member, delta: int, reason: str, idem_key: str,
            source: str | None = None, now: datetime | None = None) -> int | None:
    """A new member's first lot (sign-up points): `member` was inserted in this transaction
    with `points_balance` already `delta` (membership.new_member(points=...)); writes the
    ledger row only (`Ledger.opening`). Expires like any credit earned at `now`."""
    now = now or utcnow()
    return LEDGER.opening(session, member, delta, reason, idem_key, now, source=source,
                       expires_at=points_expiry.lot_expiry(session, now))


def ledger_sum(session: Session, member_id: int) -> int:
    return LEDGER.sum(session, member_id)


def history(session: Session, member_id: int, limit: int = 50) -> list[PointsLedger]:
    return LEDGER.history(session, member_id, limit)


def adjust(uow: UnitOfWork, member: Member, delta: int, note: str, key: str,
           by: str) -> int | None:
    """Use case: an operator adds or removes points, with a reason, once per key; the
    adjustment is in the audit log too."""
    if not note.strip():
        raise InvalidAmount("a reason is required", user_message="请填写调整原因。")
    with uow.write() as session:
        return adjust_in(session, member, delta, note, key, by)


def adjust_in(session: Session, member: Member, delta: int, note: str, key: str,
              by: str) -> int | None:
    """`adjust` inside the caller's transaction (the reason already checked)."""
    before = member.points_balance
    entry = post(session, member, delta, "adjust", f"adjust:{key}",
                 source=f"{by}: {note}"[:100])
    if entry is not None:
        audit.record(session, by, "points.adjust", member.card_no or member.openid,
                     {"points": before},
                     {"points": member.points_balance, "delta": delta, "reason": note})
    return entry
