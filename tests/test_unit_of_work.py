"""The unit of work: sessions never begin by themselves, a read use case takes no write lock
(SQLite), and a use case that fails leaves nothing written."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import InvalidRequestError

from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.models import AuditLog, Member, PointsLedger
from wx_member.coupons import wallet_view
from wx_member.loyalty import points, redemptions_view
from wx_member.members import card_view, joining, member_codes, membership, miniapp, referral_codes
from wx_member.payments import balance_view

TZ = ZoneInfo("Asia/Shanghai")
KEY = "k" * 32


@pytest.fixture
def sqlite_file(tmp_path):
    """A migrated SQLite file with one member, and its session factory."""
    path = tmp_path / "uow.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine, TZ)
    with sessions() as s, s.write():
        member_id = joining.join(s, "oUow").member.id
    yield path, engine, sessions, member_id
    engine.dispose()


READS = {
    "card": lambda uow, m: card_view.card(uow, m, TZ),
    "points page": lambda uow, m: card_view.points_page(uow, m, None, 10),
    "tier history": lambda uow, m: card_view.tier_history(uow, m),
    "profile": lambda uow, m: miniapp.get(uow, m),
    "referral results": lambda uow, m: referral_codes.results(uow, m),
    "member code": lambda uow, m: member_codes.issue(uow, KEY, m, 60),
    "coupons": lambda uow, m: wallet_view.page(uow, m, "available", datetime(2026, 1, 1), TZ,
                                               None, 10),
    "balance": lambda uow, m: balance_view.page(uow, m, None, 10),
    "recharge options": lambda uow, m: balance_view.recharge_choices(uow),
    "gifts": lambda uow, m: redemptions_view.gifts(uow),
    "redemptions": lambda uow, m: redemptions_view.page(uow, m, None, 10),
}


def _try_write_lock(path) -> str:
    """BEGIN IMMEDIATE on another connection that does not wait: 'free' or the error."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return "free"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()


@contextmanager
def probing(engine, path) -> Iterator[list[str]]:
    """While open, each statement sent on `engine` first tries to take SQLite's write lock
    from another connection: what that saw, statement by statement."""
    seen: list[str] = []

    def probe(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("PRAGMA", "BEGIN")):
            seen.append(_try_write_lock(path))

    event.listen(engine, "after_cursor_execute", probe)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", probe)


@pytest.mark.parametrize("name", list(READS))
def test_a_read_use_case_leaves_the_write_lock_to_others(sqlite_file, name):
    path, engine, sessions, member_id = sqlite_file
    with probing(engine, path) as seen, sessions() as uow:
        READS[name](uow, member_id)
        assert not uow.in_transaction()  # and it left nothing open behind it
    assert seen and set(seen) == {"free"}
    assert _try_write_lock(path) == "free"


def test_the_probe_sees_a_write_use_case_hold_the_lock(sqlite_file):
    """The same probe around a write use case: it finds the database locked, so the test
    above would notice a read that took the lock."""
    path, engine, sessions, member_id = sqlite_file
    with probing(engine, path) as seen, sessions() as uow:
        with uow.read() as s:
            member = s.get(Member, member_id)
        points.adjust(uow, member, 5, "补偿", "probe-1", by="test")
    assert seen[0] == "free"  # the read
    assert set(seen[1:]) == {"database is locked"}  # every statement of the write


def test_a_statement_outside_write_or_read_raises(session):
    with pytest.raises(InvalidRequestError, match="Autobegin is disabled"):
        session.scalar(select(func.count()).select_from(Member))
    with session.write():
        member = joining.join(session, "oLoud").member
    with pytest.raises(InvalidRequestError, match="Autobegin is disabled"):
        membership.by_openid(session, "oLoud")  # a rule, called without a use case
    session.expire(member)
    with pytest.raises(InvalidRequestError, match="Autobegin is disabled"):
        member.points_balance  # noqa: B018  (an expired attribute would load it)


def test_a_use_case_inside_another_transaction_raises(session):
    with session.write():
        member_id = joining.join(session, "oNested").member.id
    with session.read():
        with pytest.raises(InvalidRequestError, match="already begun"):
            card_view.card(session, member_id, TZ)
    with session.write():
        with pytest.raises(InvalidRequestError, match="already begun"):
            miniapp.get(session, member_id)


def test_a_use_case_that_raises_leaves_nothing_written(session, monkeypatch):
    with session.write():
        member = joining.join(session, "oUndo").member

    def counts():
        with session.read():
            return (session.scalar(select(func.count()).select_from(PointsLedger)),
                    session.scalar(select(func.count()).select_from(AuditLog)),
                    session.scalar(select(Member.points_balance)
                                   .where(Member.openid == "oUndo")))

    before = counts()

    def audit_fails(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    # The ledger row and the balance move are written before the audit row fails.
    monkeypatch.setattr(points.audit, "record", audit_fails)
    with pytest.raises(RuntimeError, match="audit log"):
        points.adjust(session, member, 5, "补偿", "undo-1", by="test")
    assert not session.in_transaction()
    assert counts() == before == (1, 0, 10)
    monkeypatch.undo()
    assert points.adjust(session, member, 5, "补偿", "undo-1", by="test") is not None
    assert counts() == (2, 1, 15)  # the key was not spent by the failed attempt
