"""Keyset batches: walking a large result in key order, a bounded batch at a time, each
batch in a transaction of its own.

The cursor is the key of the last row handled (`key > cursor ORDER BY key LIMIT n`), not an
OFFSET: every batch costs one index range scan however deep the walk is, and rows written
meanwhile behind the cursor (by the batch itself, or by another process) neither repeat
nor shift what is still to come. A job that walks a million members this way holds one
batch in memory and one batch's locks at a time, and a crash halfway loses at most the
batch in hand (the jobs are idempotent: running again skips what is done).

`paging` is the same idea for what a member reads page by page, newest first.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

BATCH = 1000

# `uow.write` or `uow.read`: what opens each batch's transaction.
Transaction = Callable[[], AbstractContextManager[Session]]


def after(stmt: Select, column: Any, cursor: Any, limit: int, descending: bool = False
          ) -> Select:
    """`stmt`'s next `limit` rows past `cursor` (None: from the start), in `column` order
    (ascending; `descending`: from the largest down). `column` must be unique and indexed."""
    if cursor is not None:
        stmt = stmt.where(column < cursor if descending else column > cursor)
    return stmt.order_by(column.desc() if descending else column).limit(limit)


def batches(transaction: Transaction, stmt: Select, column: Any, *, key: str = "id",
            size: int = BATCH, scalars: bool = False) -> Iterator[tuple[Session, list[Any]]]:
    """The rows of `stmt` in batches of at most `size`, in `column` order, each batch
    inside its own transaction, `transaction()` (a unit of work's `write` or `read`):

        for session, rows in keyset.batches(uow.write, query, Member.id):
            ...  # work on `rows` in `session`; committed when the next batch is asked for

    `key`: the attribute of a row that holds `column`'s value (an ORM object's `id`, or a
    labelled column such as `order_id`). `scalars`: rows are the first column's values
    (ORM objects for `select(Member)`). Leaving the loop early (break, return, an
    exception) rolls back the batch in hand: keep no reference to the iterator, so it is
    closed as the loop ends."""
    cursor = None
    while True:
        with transaction() as session:
            result = session.execute(after(stmt, column, cursor, size))
            rows = result.scalars().all() if scalars else result.all()
            if not rows:
                return
            yield session, rows
        cursor = getattr(rows[-1], key)
