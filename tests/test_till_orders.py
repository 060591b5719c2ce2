"""Recording a till's purchase and its refunds (use cases): all or nothing, once per
order number, whatever pays it; the quote equals what the order records."""
from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from coupon_helpers import factory
from pricing_helpers import (THURSDAY, counts, coupon_status, line, member, order, quote, refund,
                          signup_coupon, state)
from wx_member.coupons.refusals import CouponNotYours, CouponUsed
from wx_member.payments import basket, stored_value, till_orders
from wx_member.payments.balance_payments import RefundRefused
from wx_member.payments.till_refunds import TillOrderNotFound
from wx_member.platform.errors import InsufficientPoints


def body(no="1001", parts=None, **extra):
    return {"order_no": no, "lines": [line(quantity=2)], **extra,
            "payments": parts or [{"method": "cash", "amount_fen": 6000}]}


def test_a_cash_purchase_earns_moves_spend_and_answers(session):
    m = member(session, "m", "silver")
    got = order(session, body(parts=[{"method": "cash", "amount_fen": 5700}]), m)
    assert (got["payable_fen"], got["points_earned"], got["points_balance"], got["tier"]) == \
        (5700, 68, 10 + 68, "silver")  # 57 yuan × 1.2 = 68.4 → 68; 10 sign-up points
    assert state(session, m) == {"points": 78, "balance": 0, "tier": "silver", "spend": 5700}
    assert counts(session) == (1, 1, 1, 1)


def test_the_same_number_answers_the_first_answer_and_another_body_is_refused(session):
    m = member(session, "m")
    first = order(session, body(), m)
    again = order(session, body(), m)
    assert again == {**first, "replayed": True}
    with pytest.raises(till_orders.TillRequestConflict):
        order(session, body(parts=[{"method": "card", "amount_fen": 6000}]), m)
    assert state(session, m)["points"] == 10 + 60 and counts(session) == (1, 1, 1, 1)
    # another store may use the same number: its own order
    order(session, body(), m, store=2)
    assert counts(session) == (2, 2, 2, 2)


def test_mixed_payment_with_coupon_points_and_balance(session):
    m = member(session, "m", points_=1000, balance_fen=3000)
    code = signup_coupon(session, m)
    q = quote(session, body(coupons=[code], points=500), m)
    assert q["payable_fen"] == 6000 - 1000 - 500
    got = order(session, body(coupons=[code], points=500, parts=[
        {"method": "balance", "amount_fen": 3000},
        {"method": "wechat", "amount_fen": 1500, "out_trade_no": "WX1"}]), m)
    assert got["payable_fen"] == 4500 and got["points_earned"] == 45 == q["points_to_earn"]
    assert state(session, m) == {"points": 10 + 1000 - 500 + 45, "balance": 0,
                                 "tier": "normal", "spend": 4500}
    assert coupon_status(session, code) == "used"
    # full refund by lines: balance back, coupon back, cash-off points back, earned points out
    back = refund(session, "1001", {"refund_no": "R1", "lines": [{"sku": "LATTE-M",
                                                                  "quantity": 2}]})
    assert (back["amount_fen"], back["balance_back_fen"], back["points_reversed"],
            back["points_restored"], back["order_status"]) == (4500, 3000, 45, 500, "refunded")
    assert state(session, m) == {"points": 1010, "balance": 3000, "tier": "normal", "spend": 0}
    assert coupon_status(session, code) == "available"
    assert refund(session, "1001", {"refund_no": "R1", "lines": [
        {"sku": "LATTE-M", "quantity": 2}]})["replayed"] is True


def test_partial_refunds_in_proportion(session):
    m = member(session, "m")
    order(session, {"order_no": "7", "lines": [line(quantity=3, unit_price_fen=1999)],
                    "payments": [{"method": "cash", "amount_fen": 5997}]}, m)
    one = refund(session, "7", {"refund_no": "R1", "lines": [{"sku": "LATTE-M", "quantity": 1}]})
    assert (one["amount_fen"], one["points_reversed"]) == (1999, 19)  # floor(59 × 1999/5997)
    with pytest.raises(RefundRefused):
        refund(session, "7", {"refund_no": "R2", "amount_fen": 4000})
    rest = refund(session, "7", {"refund_no": "R2", "lines": [{"sku": "LATTE-M", "quantity": 2}]})
    assert rest["amount_fen"] == 3998 and rest["order_status"] == "refunded"
    assert state(session, m)["points"] == 10
    with pytest.raises(TillOrderNotFound):  # another store's key cannot refund it
        refund(session, "7", {"refund_no": "R3", "amount_fen": 1}, store=2)


@pytest.mark.parametrize("bad, error", [
    (body(parts=[{"method": "cash", "amount_fen": 5999}]), basket.PaymentsDoNotAddUp),
    (body(parts=[{"method": "cash", "amount_fen": -6000}]), basket.InvalidBasket),
    (body(parts=[{"method": "cash", "amount_fen": 60.0}]), basket.InvalidBasket),
    (body(parts=[{"method": "bitcoin", "amount_fen": 6000}]), basket.InvalidBasket),
    ({**body(), "lines": [line(sku="a b")]}, basket.InvalidBasket),
    ({**body(), "order_no": "no/1"}, basket.InvalidBasket),
    (body(parts=[{"method": "balance", "amount_fen": 6000}]), stored_value.InsufficientBalance),
    (body(points=10**6), InsufficientPoints),
])
def test_bad_input_writes_nothing(session, bad, error):
    m = member(session, "m", points_=100, balance_fen=100)
    before = state(session, m), counts(session)
    with pytest.raises(error):
        order(session, bad, m)
    assert (state(session, m), counts(session)) == before


def test_another_members_coupon_and_spending_without_the_code_are_refused(session):
    m, other = member(session, "m"), member(session, "o")
    theirs = signup_coupon(session, other)
    with pytest.raises(CouponNotYours):
        order(session, body(coupons=[theirs], parts=[{"method": "cash", "amount_fen": 5000}]), m)
    with pytest.raises(till_orders.MemberConsentRequired):
        order(session, body(coupons=[signup_coupon(session, m)],
                            parts=[{"method": "cash", "amount_fen": 5000}]), m, consent=False)
    assert coupon_status(session, theirs) == "available" and counts(session) == (0, 0, 0, 0)


def test_a_walk_in_is_recorded_and_earns_nothing(session):
    got = order(session, body())
    assert got["points_earned"] == 0 and got["tier"] is None and counts(session) == (1, 1, 1, 1)


def test_concurrent_orders_with_one_coupon_one_wins(session):
    m = member(session, "m")
    code = signup_coupon(session, m)
    make = factory(session)

    def attempt(no):
        with make() as uow:
            try:
                return order(uow, body(no, coupons=[code],
                                       parts=[{"method": "cash", "amount_fen": 5000}]), m)
            except CouponUsed:
                return None
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, ["A1", "A2", "A3", "A4"]))
    assert sum(r is not None for r in results) == 1
    assert counts(session)[0] == 1 and state(session, m)["points"] == 10 + 50


def test_the_same_order_number_at_once_is_credited_once(session):
    m = member(session, "m")
    make = factory(session)

    def attempt(_):
        with make() as uow:
            return order(uow, body("SAME"), m)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert sorted(r["replayed"] for r in results) == [False, True, True, True]
    assert state(session, m)["points"] == 10 + 60 and counts(session) == (1, 1, 1, 1)


SEQ = itertools.count()
LINES = st.lists(st.builds(
    line, sku=st.sampled_from(["LATTE-M", "CAKE-1", "TEA-L"]),
    category=st.sampled_from(["拿铁", "甜点", "茶"]), quantity=st.integers(1, 5),
    unit_price_fen=st.integers(0, 5000)), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=LINES, tier=st.sampled_from(["normal", "silver", "gold", "diamond"]),
       day=st.integers(0, 6), use_coupon=st.booleans(), want=st.integers(0, 3000))
def test_the_quote_is_what_the_order_records(session, lines, tier, day, use_coupon, want):
    from datetime import timedelta
    from sqlalchemy import update
    from wx_member.models import Member
    from wx_member.payments import price_lists
    price_lists.import_prices(session, "sku,tier,price_fen\nTEA-L,silver,1200\n", by="t")
    n = next(SEQ)  # the database outlives one example: fresh members and numbers
    m = member(session, f"p{n}", points_=3000)
    with session.write():
        session.execute(update(Member).where(Member.id == m.id).values(tier=tier))
    now = THURSDAY + timedelta(days=day)
    wanted = {"lines": lines}
    if use_coupon:
        wanted["coupons"] = [signup_coupon(session, m)]
    if want:
        wanted["points"] = want
    try:
        q = quote(session, wanted, m, now=now)
    except Exception as exc:  # refused: the order is refused the same way
        with pytest.raises(type(exc)):
            order(session, {**wanted, "order_no": f"X{n}", "payments": [
                {"method": "cash", "amount_fen": 1}]}, m, now=now)
        return
    if q["payable_fen"] == 0:
        return
    got = order(session, {**wanted, "order_no": f"P{n}", "payments": [
        {"method": "card", "amount_fen": q["payable_fen"]}]}, m, now=now)
    assert got["lines"] == q["lines"] and got["coupons"] == q["coupons"]
    assert got["points_used"] == q["points_used"] and got["payable_fen"] == q["payable_fen"]
    assert got["points_earned"] == q["points_to_earn"]


def _notify(session, out_trade_no, openid, fen, tx=None):
    from wx_member.payments import orders
    from wx_member.wechat.pay import PaymentNotice
    from pricing_helpers import SHANGHAI
    return orders.record_payment(session, PaymentNotice(
        "v3", out_trade_no, tx or f"tx-{out_trade_no}", openid, fen, THURSDAY, True),
        now=THURSDAY, tz=SHANGHAI)


def test_a_wechat_part_and_its_notify_are_credited_once_till_first(session):
    m = member(session, "m")
    order(session, body(parts=[{"method": "wechat", "amount_fen": 6000,
                                "out_trade_no": "WX9", "transaction_id": "tx-WX9"}]), m)
    replay = _notify(session, "WX9", "m", 6000)
    assert replay.credited is False and replay.order.out_trade_no == "S1-1001"
    assert state(session, m)["points"] == 10 + 60 and counts(session)[0] == 1


def test_a_wechat_part_and_its_notify_are_credited_once_notify_first(session):
    m = member(session, "m")
    assert _notify(session, "WX9", "m", 6000, tx="T9").credited
    got = order(session, body(parts=[{"method": "wechat", "amount_fen": 6000,
                                      "transaction_id": "T9"}]), m)
    assert (got["credited_fen"], got["points_earned"]) == (0, 0)
    assert state(session, m) == {"points": 10 + 60, "balance": 0, "tier": "normal",
                                 "spend": 6000}
    assert _notify(session, "WX9", "m", 6000, tx="T9").credited is False
