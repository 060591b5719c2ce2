"""The ledger primitive under points and stored value (platform/ledger.py): for both
ledgers, and for both ways of learning the balance an UPDATE left (RETURNING on SQLite, a
read after it on MariaDB, forced here on SQLite too), the cached balance is the ledger sum
and never below zero, a replay changes nothing, and a committed row is counted in /metrics
under its ledger's name."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import update

from wx_member.loyalty import points
from wx_member.members import membership
from wx_member.metrics import install_session_hooks
from wx_member.models import Member, utcnow
from wx_member.payments import stored_value
from wx_member.platform.errors import InvalidAmount
from wx_member.platform.ledger import lock_member

LEDGERS = {"points": points.LEDGER, "stored_value": stored_value.LEDGER}


def a_member(session, openid: str) -> Member:
    with session.write() as s:
        found = membership.by_openid(s, openid)
        return found or membership.new_member(s, utcnow(), openid=openid, subscribed=True)


def cached_and_sum(session, ledger, member_id: int) -> tuple[int, int]:
    with session.read() as s:
        member = s.get(Member, member_id, populate_existing=True)
        return getattr(member, ledger.balance), ledger.sum(s, member_id)


@pytest.fixture(params=[True, False], ids=["returning", "read-after"])
def returning(request, session, monkeypatch):
    """Whether the dialect says what an UPDATE left (MariaDB cannot: the read-after path)."""
    if request.param and session.get_bind().dialect.name != "sqlite":
        pytest.skip("MariaDB has no UPDATE ... RETURNING: only the read-after path exists there")
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", request.param)
    return request.param


@pytest.mark.parametrize("name", LEDGERS)
@hsettings(max_examples=20, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.integers(-40, 40).filter(bool), st.integers(0, 4)),
                    max_size=20))
def test_balance_is_the_ledger_sum_never_negative_and_replays_change_nothing(
        session, returning, name, ops):
    ledger = LEDGERS[name]
    member_id = a_member(session, f"oLedger{name}").id
    for delta, cause in ops:  # a repeated (delta, cause) is a replay of one cause
        key = f"prop:{delta}:{cause}"
        before = cached_and_sum(session, ledger, member_id)
        try:
            with session.write() as s:
                member = s.get(Member, member_id)
                posted = ledger.post(s, member, delta, "adjust", key)
        except ledger.insufficient:
            assert before[0] + delta < 0
            posted = "refused"
        after = cached_and_sum(session, ledger, member_id)
        assert after[0] == after[1] >= 0
        if posted in (None, "refused"):  # a replay or a refusal: nothing moved
            assert after == before
        else:
            assert after[0] == before[0] + delta
            assert getattr(member, ledger.balance) == after[0]  # the object is told too


@pytest.mark.parametrize("name", LEDGERS)
def test_a_refused_debit_writes_no_row(session, returning, name):
    ledger = LEDGERS[name]
    member = a_member(session, "oShort")
    with session.write() as s:
        assert ledger.post(s, member, 5, "adjust", "short:in") is not None
    with pytest.raises(ledger.insufficient), session.write() as s:
        ledger.post(s, member, -6, "adjust", "short:out")
    with session.read() as s:
        assert [r.idem_key for r in ledger.history(s, member.id)] == ["short:in"]
    assert cached_and_sum(session, ledger, member.id) == (5, 5)


def written(name: str, reason: str) -> float:
    return REGISTRY.get_sample_value("wx_member_ledger_writes_total",
                                     {"ledger": name, "reason": reason}) or 0.0


@pytest.mark.parametrize("name", LEDGERS)
def test_committed_rows_are_counted_under_their_ledger(db_url, name):
    from wx_member.db import make_engine, make_session_factory
    from wx_member.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    install_session_hooks(sessions)
    ledger = LEDGERS[name]
    try:
        with sessions() as session:
            member = a_member(session, "oCounted")
            before = written(name, "metric_test")
            with session.write() as s:
                ledger.post(s, member, 7, "metric_test", "metric:1")
            with pytest.raises(RuntimeError), session.write() as s:  # rolled back: not counted
                ledger.post(s, member, 7, "metric_test", "metric:2")
                raise RuntimeError
            with session.write() as s:  # a replay writes nothing
                assert ledger.post(s, member, 7, "metric_test", "metric:1") is None
            assert written(name, "metric_test") == before + 1
    finally:
        engine.dispose()


def test_lock_member_rereads_the_row(session):
    member = a_member(session, "oLocked")
    table = Member.__table__
    with session.write() as s:  # another writer, as far as the loaded object knows
        s.execute(update(table).where(table.c.id == member.id).values(points_balance=42))
    assert member.points_balance == 0
    with session.write() as s:
        assert lock_member(s, Member.openid == "oLocked") is member
        assert member.points_balance == 42


def test_a_new_members_opening_balance_is_its_one_ledger_row(session):
    """A join puts the sign-up points in the new member's INSERT and writes only their
    ledger row (Ledger.opening): the balance is that row, and should its key be taken the
    balance goes back to nothing with it."""
    ledger = points.LEDGER
    with session.write() as s:
        first = membership.new_member(s, utcnow(), 25, openid="oOpenFirst", subscribed=True)
        assert ledger.opening(s, first, 25, "signup", "opening:test") is not None
    assert cached_and_sum(session, ledger, first.id) == (25, 25)

    with session.write() as s:
        second = membership.new_member(s, utcnow(), 25, openid="oOpenSecond", subscribed=True)
        assert ledger.opening(s, second, 25, "signup", "opening:test") is None  # key taken
        assert second.points_balance == 0
    assert cached_and_sum(session, ledger, second.id) == (0, 0)

    with pytest.raises(InvalidAmount), session.write() as s:
        third = membership.new_member(s, utcnow(), 10, openid="oOpenThird", subscribed=True)
        ledger.opening(s, third, 25, "signup", "opening:third")  # not its whole balance
