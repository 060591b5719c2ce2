"""Stored value (储值) over HTTP: recharges arrive as signed WeChat Pay notifies with
attach "recharge" (v2 and v3, through the sandbox's PayNotifier), credited once with the
ladder's bonus as its own row, earning no points and no tier spend; refunds take it back."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from pay_helpers import balance_and_sum, count, member, order
from wx_member.models import Order, StoredValueLedger
from wx_member.payments import balance_payments
from wx_member.payments import stored_value


def sv_rows(live, openid: str) -> list[tuple[int, str, str]]:
    with live.session() as s, s.read():
        m = member(live, openid)
        return [(r.delta_fen, r.reason, r.idem_key) for r in s.scalars(
            select(StoredValueLedger).where(StoredValueLedger.member_id == m.id)
            .order_by(StoredValueLedger.id))]


def balance(live, openid: str) -> tuple[int, int]:
    with live.session() as s, s.read():
        m = member(live, openid)
        return m.balance_fen, stored_value.ledger_sum(s, m.id)


def test_v2_recharge_credits_principal_and_bonus_once_and_earns_nothing(live_pay, pay_sim,
                                                                        payer):
    pay_sim.subscribe("oAlice")
    first = payer.v2_payment("oAlice", "R1001", 50000, attach="recharge")
    assert first.ok, first.body
    assert all(payer.replay(first).ok for _ in range(3))
    assert sv_rows(live_pay, "oAlice") == [(50000, "recharge", "recharge:R1001"),
                                           (5000, "recharge_bonus", "recharge_bonus:R1001")]
    assert balance(live_pay, "oAlice") == (55000, 55000)
    alice = member(live_pay, "oAlice")
    assert (alice.points_balance, alice.total_spend_fen, alice.tier) == (10, 0, "normal")
    assert balance_and_sum(live_pay, "oAlice") == (10, 10)  # the sign-up points only
    o = order(live_pay, "R1001")
    assert (o.purpose, o.points_earned, o.amount_fen) == ("recharge", 0, 50000)


def test_v3_recharges_concurrent_copies_credit_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oBob")
    first = payer.v3_payment("oBob", "R2001", 100000, attach="recharge")
    assert first.status == 204, first.body
    with ThreadPoolExecutor(max_workers=10) as pool:
        again = list(pool.map(lambda _: payer.replay(first), range(10)))
    assert {r.status for r in again} == {204}
    assert count(live_pay, Order) == 1
    assert balance(live_pay, "oBob") == (112000, 112000)  # 充1000送120


@pytest.mark.parametrize("fen, bonus", [(30000, 0), (70000, 5000), (250000, 12000)])
def test_the_highest_rung_reached_gives_the_bonus(live_pay, pay_sim, payer, fen, bonus):
    pay_sim.subscribe("oCara")
    assert payer.v2_payment("oCara", "R3001", fen, attach="recharge").ok
    assert balance(live_pay, "oCara") == (fen + bonus, fen + bonus)


def test_the_ladder_is_operator_data(live_pay, pay_sim, payer):
    with live_pay.session() as s:
        stored_value.set_option(s, 20000, 1000, by="ops")  # 充200送10
        stored_value.set_option(s, 50000, 5000, by="ops", active=False)
        with s.read():
            assert [stored_value.option_text(o) for o in stored_value.options(s)] == \
                ["充200送10", "充1000送120"]
    pay_sim.subscribe("oDan")
    assert payer.v2_payment("oDan", "R4001", 60000, attach="recharge").ok
    assert balance(live_pay, "oDan") == (61000, 61000)


def test_a_recharge_by_a_non_member_is_refused_until_they_join(live_pay, pay_sim, payer):
    first = payer.v2_payment("oWalkIn", "R5001", 50000, attach="recharge")
    assert first.status == 409 and first.return_code == "FAIL"
    assert count(live_pay, Order) == 0 and count(live_pay, StoredValueLedger) == 0
    pay_sim.subscribe("oWalkIn")
    assert payer.replay(first).ok  # WeChat Pay's retry, after they joined
    assert balance(live_pay, "oWalkIn") == (55000, 55000)


def test_a_purchase_and_a_recharge_cannot_share_an_out_trade_no(live_pay, pay_sim, payer):
    pay_sim.subscribe("oEve")
    assert payer.v2_payment("oEve", "X1", 50000).ok  # a purchase
    r = payer.v2_payment("oEve", "X1", 50000, attach="recharge")
    assert r.status == 409 and balance(live_pay, "oEve") == (0, 0)


def test_refunds_of_a_recharge_take_back_principal_and_bonus_in_proportion(live_pay, pay_sim,
                                                                          payer):
    pay_sim.subscribe("oFay")
    assert payer.v2_payment("oFay", "R6001", 50000, attach="recharge").ok
    assert payer.v2_refund("R6001", "RF6001a", 20000, 50000).ok
    # floor(5000 × 20000 / 50000) = 2000 of the bonus goes with 200 yuan of principal.
    assert sv_rows(live_pay, "oFay")[-2:] == [(-20000, "refund", "refund:RF6001a"),
                                              (-2000, "refund_bonus", "refund_bonus:RF6001a")]
    first = payer.v3_refund("R6001", "RF6001b", 30000, 50000)
    assert first.status == 204 and payer.replay(first).status == 204
    assert balance(live_pay, "oFay") == (0, 0)
    fay = member(live_pay, "oFay")
    assert (fay.total_spend_fen, fay.points_balance) == (0, 10)  # spend and points untouched


def test_a_refund_of_spent_stored_value_stops_at_zero(live_pay, pay_sim, payer):
    pay_sim.subscribe("oGus")
    assert payer.v2_payment("oGus", "R7001", 50000, attach="recharge").ok
    with live_pay.session() as s:
        balance_payments.pay(s, "oGus", 54000, "SHOP-1", by="till 1")
    assert payer.v2_refund("R7001", "RF7001", 50000, 50000).ok
    gus = member(live_pay, "oGus")
    with live_pay.session() as s, s.read():
        rows = stored_value.history(s, gus.id)
    assert (rows[0].delta_fen, rows[0].reason) == (-1000, "refund")
    assert "shortfall 49000" in rows[0].source
    assert balance(live_pay, "oGus") == (0, 0)
