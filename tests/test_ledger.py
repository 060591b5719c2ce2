"""The points ledger: balance = ledger sum, replays change nothing, never below zero."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from wx_member.members import joining, membership
from wx_member.loyalty import points
from wx_member.platform.errors import InsufficientPoints, InvalidAmount


def new_member(session, openid="oL"):
    with session.begin():
        return joining.join(session, openid).member


def test_adjust_moves_balance_with_a_ledger_row_and_is_idempotent(session):
    m = new_member(session)
    assert points.adjust(session, m, 5, "补偿", key="t1", by="ops") is not None
    assert points.adjust(session, m, 5, "补偿", key="t1", by="ops") is None  # same cause
    assert (m.points_balance, points.ledger_sum(session, m.id)) == (15, 15)


@pytest.mark.parametrize("delta", [0, 1.5, True, "3"])
def test_non_integer_or_zero_amounts_are_refused(session, delta):
    m = new_member(session)
    with pytest.raises(InvalidAmount):
        points.adjust(session, m, delta, "x", key="bad", by="ops")
    assert points.ledger_sum(session, m.id) == 10


def test_adjust_needs_a_reason(session):
    m = new_member(session)
    with pytest.raises(InvalidAmount):
        points.adjust(session, m, 5, "  ", key="t", by="ops")


def test_debit_beyond_balance_is_refused_and_changes_nothing(session):
    m = new_member(session)
    with pytest.raises(InsufficientPoints):
        points.adjust(session, m, -11, "扣减", key="t2", by="ops")
    session.expire_all()
    m = membership.by_openid(session, "oL")
    assert (m.points_balance, points.ledger_sum(session, m.id)) == (10, 10)
    assert len(points.history(session, m.id)) == 1


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.integers(-30, 30).filter(bool), st.integers(0, 5)), max_size=25))
def test_balance_always_equals_ledger_sum_and_never_negative(session, ops):
    m = membership.by_openid(session, "oH")
    session.rollback()  # end the read: each use case is its own transaction
    m = m or new_member(session, "oH")
    for delta, key in ops:  # repeated keys are replays
        try:
            points.adjust(session, m, delta, "prop", key=f"{delta}:{key}", by="hyp")
        except InsufficientPoints:
            pass
        session.expire_all()
        assert membership.by_openid(session, "oH").points_balance == points.ledger_sum(session, m.id) >= 0
        session.rollback()
