"""The keyset batch helper (platform/keyset.py), on SQLite and MariaDB: every row once, in
key order, a transaction per batch; the edges (nothing, exactly one batch, a batch
boundary); rows written behind the cursor meanwhile are not revisited; leaving the loop
early rolls back the batch in hand and leaves no transaction open."""
from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from wx_member.models import AuditLog
from wx_member.platform import keyset

ALL = select(AuditLog.id, AuditLog.target)


def _seed(session, ids):
    with session.write():
        session.execute(insert(AuditLog), [{"id": i, "actor": "test", "action": "keyset",
                                            "target": f"t{i}"} for i in ids])


def _walk(session, size, stmt=ALL, **kw) -> list[list[int]]:
    return [[r.id for r in rows]
            for _, rows in keyset.batches(session.read, stmt, AuditLog.id, size=size, **kw)]


def test_nothing_to_walk_is_no_batch_and_no_open_transaction(session):
    assert _walk(session, 3) == []
    assert not session.in_transaction()


def test_exactly_one_batch(session):
    _seed(session, [4, 2, 9])
    assert _walk(session, 3) == [[2, 4, 9]]
    assert not session.in_transaction()


@pytest.mark.parametrize("n, size, sizes", [(6, 3, [3, 3]), (7, 3, [3, 3, 1]),
                                            (2, 3, [2]), (5, 1, [1] * 5)])
def test_batches_meet_at_the_boundary_without_gap_or_repeat(session, n, size, sizes):
    _seed(session, range(1, n + 1))
    walked = _walk(session, size)
    assert [len(b) for b in walked] == sizes
    assert [i for b in walked for i in b] == list(range(1, n + 1))


def test_orm_rows_and_a_filtered_statement(session):
    _seed(session, range(1, 8))
    stmt = select(AuditLog).where(AuditLog.id % 2 == 1)
    got = [[a.target for a in rows] for _, rows in
           keyset.batches(session.read, stmt, AuditLog.id, size=2, scalars=True)]
    assert got == [["t1", "t3"], ["t5", "t7"]]


def test_a_labelled_key(session):
    _seed(session, [5, 6, 7])
    stmt = select(AuditLog.id.label("entry_id"))
    got = [[r.entry_id for r in rows] for _, rows in
           keyset.batches(session.read, stmt, AuditLog.id, key="entry_id", size=2)]
    assert got == [[5, 6], [7]]


def test_rows_written_behind_the_cursor_meanwhile_are_not_revisited(session, db_url):
    """Another process inserts rows while the walk is between batches: those behind the
    cursor (a lower key) are left for the next walk; those ahead of it are met."""
    from wx_member.db import make_engine, make_session_factory

    _seed(session, [10, 20, 30, 40])
    engine = make_engine(db_url)
    other = make_session_factory(engine)
    seen = []
    try:
        for _, rows in keyset.batches(session.read, ALL, AuditLog.id, size=2):
            seen.append([r.id for r in rows])
            if len(seen) == 1:  # the cursor is at 20
                with other() as uow, uow.write() as s:
                    s.execute(insert(AuditLog), [
                        {"id": i, "actor": "other", "action": "keyset", "target": f"t{i}"}
                        for i in (5, 15, 35, 50)])
    finally:
        engine.dispose()
    assert seen == [[10, 20], [30, 35], [40, 50]]


def test_a_transaction_per_batch_each_committed_when_the_next_is_asked_for(session, db_url):
    from wx_member.db import make_engine, make_session_factory

    _seed(session, range(1, 6))
    engine = make_engine(db_url)
    other = make_session_factory(engine)

    def committed() -> list[str]:
        with other() as uow, uow.read() as s:
            return list(s.scalars(select(AuditLog.target).where(AuditLog.actor == "walked")
                                  .order_by(AuditLog.id)))

    seen_between = []
    try:
        for s, rows in keyset.batches(session.write, ALL.where(AuditLog.actor == "test"),
                                      AuditLog.id, size=2):
            seen_between.append(committed())
            s.execute(insert(AuditLog), [{"actor": "walked", "action": "keyset",
                                          "target": r.target} for r in rows])
        assert seen_between == [[], ["t1", "t2"], ["t1", "t2", "t3", "t4"]]
        assert committed() == ["t1", "t2", "t3", "t4", "t5"]
    finally:
        engine.dispose()


def test_leaving_early_rolls_back_the_batch_in_hand_and_no_transaction_stays_open(session):
    _seed(session, range(1, 6))
    with pytest.raises(RuntimeError):
        for s, rows in keyset.batches(session.write, ALL.where(AuditLog.actor == "test"),
                                      AuditLog.id, size=2):
            s.execute(insert(AuditLog), [{"actor": "walked", "action": "keyset",
                                          "target": r.target} for r in rows])
            if rows[0].id == 3:
                raise RuntimeError("stop")
    assert not session.in_transaction()
    for s, rows in keyset.batches(session.write, ALL.where(AuditLog.actor == "test"),
                                  AuditLog.id, size=2):
        break
    assert not session.in_transaction()
    with session.read():
        assert session.scalar(select(func.count()).where(AuditLog.actor == "walked")) == 2


def test_paging_newest_first_is_the_same_walk_backwards(session):
    from wx_member.platform import paging

    _seed(session, range(1, 6))
    with session.read():
        page = session.execute(paging.newest_first(ALL, AuditLog.id, 4, 2)).all()
    assert [r.id for r in page] == [3, 2, 1]  # a page of 2, and one more: there is a next
