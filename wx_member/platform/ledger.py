"""The ledger primitive under points and stored value: how a member's balance changes.

A ledger is an append-only table of rows (member, amount, reason, unique idempotency key
derived from its cause) and a column on `member` that caches their sum. `post` is the only
way a row is written one at a time (the points expiry run writes its rows in bulk, under
the same rules), and it keeps three promises on SQLite and MariaDB alike, also under
concurrency:

- A replay changes nothing: the row's INSERT is refused by the unique key, and `post`
  returns None before the balance is touched.
- Balance = sum of the ledger: the cached column moves in the same transaction as the row,
  by one `UPDATE member SET balance = balance + delta`, which takes the member's row lock
  (InnoDB; SQLite's BEGIN IMMEDIATE already serializes writers), so two concurrent rows
  cannot lose each other's move.
- Never below zero: a debit's UPDATE says `... WHERE balance >= n`, so the database refuses
  it rather than a read-then-write race; the debit's row is undone with it (a savepoint)
  and the ledger's error is raised.

The order is the points ledger's, measured on the webhook's join path: the row first, then
the balance. A credit needs no savepoint: a failed statement undoes only itself (SQLite
and InnoDB alike), so losing the race for the key leaves the transaction as it was, and a
credit's UPDATE is never refused. The balance the UPDATE leaves comes from the UPDATE
itself where the database can say (SQLite: RETURNING), else from a read after it
(MariaDB): another transaction may have moved it since `member` was loaded, and this one
now holds the row.

Use cases that decide something from the member's state before posting (a payment's
tier, a refund's share, a redemption's price) lock the member first with `lock_member`:
member before anything else is the one lock order, so such use cases for one member queue
instead of deadlocking.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wx_member import statements
from wx_member.metrics import note_ledger_write
from wx_member.clock import utcnow
from wx_member.db import savepoint
from wx_member.models import Member
from wx_member.platform.errors import DomainError, InvalidAmount

_MEMBER = Member.__table__


def lock_member(session: Session, where) -> Member | None:
    """The member matching `where`, its row locked until the transaction ends (SELECT ...
    FOR UPDATE on MariaDB; on SQLite the transaction already holds the write lock) and its
    attributes re-read, so what the caller decides from them stays true."""
    return session.scalar(select(Member).where(where).with_for_update()
                          .execution_options(populate_existing=True))


def check_delta(delta: object) -> None:
    """A ledger moves by whole non-zero amounts (points, fen): InvalidAmount otherwise."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidAmount(f"delta must be a non-zero integer, got {delta!r}")


class Ledger:
    """One ledger: its rows' class, the column holding each row's amount, the member
    attribute caching their sum and the error a debit beyond it raises. Its statements are
    built once, here: Core statements executed with parameters, as the hot path wants."""

    def __init__(self, name: str, rows: type, amount: str, balance: str,
                 insufficient: type[DomainError]):
        self.name, self.rows, self.insufficient = name, rows, insufficient
        self.amount, self.balance = amount, balance
        table, balance = rows.__table__, _MEMBER.c[balance]
        self._entry = insert(table)
        self._sum = (select(func.coalesce(func.sum(table.c[amount]), 0))
                     .where(table.c.member_id == bindparam("member")))
        credit = (update(_MEMBER).where(_MEMBER.c.id == bindparam("member"))
                  .values({balance: balance + bindparam("delta")}))
        debit = credit.where(balance >= bindparam("spend"))
        self._moves = {False: credit, True: debit}
        self._moves_returning = {k: m.returning(balance) for k, m in self._moves.items()}
        self._read = select(balance).where(_MEMBER.c.id == bindparam("member"))

    def post(self, session: Session, member: Member, delta: int, reason: str, idem_key: str,
             now: datetime | None = None, **columns) -> int | None:
        """Write one row inside the caller's transaction and move the member's balance.

        Returns the new row's id, or None when `idem_key` was already posted (a replay:
        nothing changes). Raises the ledger's `insufficient` error, with nothing written,
        when a debit would take the balance below zero, and InvalidAmount unless `delta` is
        a non-zero integer. `columns`: the ledger's other columns (source, ...)."""
        check_delta(delta)
        session.flush()  # Core statements do not autoflush; the member's row must exist
        row = {"member_id": member.id, self.amount: delta, "reason": reason,
               "idem_key": idem_key, "created_at": now or utcnow(), **columns}
        params = {"member": member.id, "delta": delta, "spend": -delta}
        returning = session.get_bind().dialect.update_returning
        if delta > 0:
            try:
                entry_id = statements.run(session, self._entry, row, insert=True).lastrowid
            except IntegrityError:
                return None
            balance = self._move(session, False, params, returning)
        else:
            try:
                # A savepoint: a refused debit must undo the row written before it.
                with savepoint(session):
                    entry_id = session.execute(self._entry, row).inserted_primary_key[0]
                    balance = self._move(session, True, params, returning)
                    if balance is None:
                        raise self.insufficient(
                            f"member {member.id} cannot take {-delta} from {self.name}")
            except IntegrityError:
                return None
        note_ledger_write(session, self.name, reason)  # counted in /metrics once committed
        set_committed_value(member, self.balance, balance)
        return entry_id

    def opening(self, session: Session, member: Member, delta: int, reason: str, idem_key: str,
                now: datetime | None = None, **columns) -> int | None:
        """The first row of a member this transaction inserted with its balance already at
        `delta` (a new member's sign-up points, `membership.new_member(points=...)`): the
        row only. `post` would move the balance by a second statement (and on MariaDB read
        it back by a third); here the member's INSERT carried it, and nobody else can see
        the row before the commit. Balance = ledger sum holds once this row is in. Should
        the key be taken (a new member's own key cannot be), the balance is moved back
        and None returned, as for a replay."""
        check_delta(delta)
        if delta < 0 or getattr(member, self.balance) != delta:
            raise InvalidAmount(f"an opening row is the member's whole balance, {delta} "
                                f"is not {getattr(member, self.balance)}")
        row = {"member_id": member.id, self.amount: delta, "reason": reason,
               "idem_key": idem_key, "created_at": now or utcnow(), **columns}
        try:
            entry_id = statements.run(session, self._entry, row, insert=True).lastrowid
        except IntegrityError:
            statements.run(session, self._moves[False], {"member": member.id, "delta": -delta})
            set_committed_value(member, self.balance, 0)
            return None
        note_ledger_write(session, self.name, reason)  # counted in /metrics once committed
        return entry_id

    def _move(self, session: Session, debit: bool, params: dict,
              returning: bool) -> int | None:
        """Move the balance; the balance it left, or None when it moved no row (a refused
        debit)."""
        if returning:
            found = statements.run(session, self._moves_returning[debit], params).fetchall()
            return found[0][0] if found else None  # all fetched: SQLite's statement is done
        if statements.run(session, self._moves[debit], params).rowcount != 1:
            return None
        return session.scalar(self._read, {"member": params["member"]})

    def sum(self, session: Session, member_id: int) -> int:
        """The member's ledger sum: what the cached balance must equal."""
        return int(session.scalar(self._sum, {"member": member_id}))

    def history(self, session: Session, member_id: int, limit: int = 50) -> list:
        """The member's latest rows, newest first."""
        return list(session.scalars(select(self.rows)
                                    .where(self.rows.member_id == member_id)
                                    .order_by(self.rows.id.desc()).limit(limit)))
