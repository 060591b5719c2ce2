"""A merge over random histories: the sum of all balances (points and stored value) and
the count of awards (sign-up, referral) are what they were, balance = ledger sum on both
sides, and undoing it gives each member back exactly their own balances."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import func, select, update

from coupon_helpers import join
from wx_member.loyalty import points
from wx_member.members import merging, unmerging
from wx_member.models import Coupon, Member, PointsLedger
from wx_member.payments import stored_value
from wx_member.platform.errors import InsufficientPoints

_n = itertools.count()
AWARDS = ("signup", "referral")
# (what, amount): earn or spend points, recharge or spend stored value, a referral award
OPS = st.lists(st.tuples(st.sampled_from(["earn", "spend", "recharge", "pay", "referral"]),
                         st.integers(1, 500)), max_size=12)


def _history(session, m: Member, ops, tag: str) -> None:
    with session.write():
        m = session.get(Member, m.id)
        for i, (what, n) in enumerate(ops):
            key = f"{tag}:{i}"
            if what == "earn":
                points.post(session, m, n, "purchase", key)
            elif what == "referral":
                points.post(session, m, n, "referral", key)
            elif what == "spend" and m.points_balance:
                try:
                    points.post(session, m, -min(n, m.points_balance), "cash_off", key)
                except InsufficientPoints:
                    pass
            elif what == "recharge":
                stored_value.post(session, m, n, "recharge", key)
            elif what == "pay" and m.balance_fen:
                stored_value.post(session, m, -min(n, m.balance_fen), "pay", key)


def _state(session, *ids):
    with session.read():
        session.expire_all()
        totals = (session.scalar(select(func.sum(Member.points_balance))),
                  session.scalar(select(func.sum(Member.balance_fen))),
                  session.scalar(select(func.count()).select_from(PointsLedger)
                                 .where(PointsLedger.reason.in_(AWARDS))),
                  session.scalar(select(func.count()).select_from(Coupon)))
        each = {}
        for mid in ids:
            m = session.get(Member, mid)
            assert (m.points_balance, m.balance_fen) == merging.ledger_sums(session, mid)
            each[mid] = (m.points_balance, m.balance_fen)
        return totals, each


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a_ops=OPS, b_ops=OPS)
def test_a_merge_keeps_balances_and_awards_and_undo_restores(session, a_ops, b_ops):
    n = next(_n)
    oa = join(session, f"oOA{n}")
    mini = join(session, f"oMP{n}")
    with session.write():  # the mini-program's member: its openid is the other appid's
        session.execute(update(Member).where(Member.id == mini.id)
                        .values(openid=None, mini_openid=f"oMP{n}"))
    _history(session, oa, a_ops, f"a{n}")
    _history(session, mini, b_ops, f"b{n}")
    before_totals, before_each = _state(session, oa.id, mini.id)

    done = merging.merge(session, mini.id, oa.id, "prop")
    totals, each = _state(session, oa.id, mini.id)
    assert totals == before_totals
    assert each[oa.id] == (0, 0)
    assert each[mini.id] == tuple(x + y for x, y in zip(before_each[oa.id],
                                                         before_each[mini.id]))
    unmerging.undo(session, done.merge_id, "prop")
    assert _state(session, oa.id, mini.id) == (before_totals, before_each)
