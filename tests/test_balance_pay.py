"""Paying from the stored-value balance: once per order, never below zero (also with
concurrent tills), a refusal changes nothing; and the cashier's CLI."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from coupon_helpers import factory, join
from test_cli import run
from wx_member.payments import balance_payments
from wx_member.payments import stored_value
from wx_member.platform.errors import InvalidAmount, UnknownMember


def topped_up(session, openid: str, fen: int):
    m = join(session, openid)
    with session.begin():
        stored_value.post(session, m, fen, "recharge", f"recharge:test-{openid}")
    return m


def state(session, m) -> tuple[int, int]:
    session.expire_all()
    with session.read():
        return (stored_value.summary(session, m)["balance_fen"],
                stored_value.ledger_sum(session, m.id))


def test_pay_is_once_per_order(session):
    m = topped_up(session, "oAnn", 10000)
    first = balance_payments.pay(session, "oAnn", 3000, "SHOP-1", by="till 1")
    again = balance_payments.pay(session, m.card_no, 3000, "SHOP-1", by="till 2")
    assert (first.replayed, again.replayed) == (False, True)
    assert first.balance_fen == again.balance_fen == 7000 and state(session, m) == (7000, 7000)
    with pytest.raises(balance_payments.BalancePaymentMismatch):
        balance_payments.pay(session, "oAnn", 3500, "SHOP-1", by="till 1")


@pytest.mark.parametrize("who, fen, order, error", [
    ("oBea", 10001, "SHOP-2", stored_value.InsufficientBalance),
    ("oBea", 0, "SHOP-2", InvalidAmount),
    ("oBea", 12.5, "SHOP-2", InvalidAmount),
    ("oBea", 100, "", InvalidAmount),
    ("oNobody", 100, "SHOP-2", UnknownMember),
])
def test_refused_payments_change_nothing(session, who, fen, order, error):
    m = topped_up(session, "oBea", 10000)
    with pytest.raises(error) as refused:
        balance_payments.pay(session, who, fen, order, by="till")
    if error is stored_value.InsufficientBalance:
        assert refused.value.user_message == "储值余额不足。"
    assert state(session, m) == (10000, 10000)
    # The order is still payable: a refusal left no key behind.
    assert balance_payments.pay(session, "oBea", 10000, "SHOP-2", by="till").balance_fen == 0


def test_concurrent_payments_never_take_the_balance_below_zero(session):
    m = topped_up(session, "oCid", 10000)
    sessions = factory(session)

    def till(i: int):
        with sessions() as s:
            try:
                return balance_payments.pay(s, "oCid", 3000, f"SHOP-{i % 6}", by=f"till {i}")
            except stored_value.InsufficientBalance:
                return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(till, range(12)))  # 6 orders, each sent twice
    paid = {r.balance_fen for r in results if r is not None and not r.replayed}
    assert len(paid) == 3  # 3 × 30 yuan fit in 100 yuan, the 4th does not
    assert state(session, m) == (1000, 1000)


def test_cli_pays_and_member_show_lists_balance_and_coupons(live, sim, db_url):
    sim.subscribe("oDee")
    with live.session() as s:
        topped_up(s, "oDee", 5000)
    out = run("balance", "pay", "oDee", "1200", "--order", "SHOP-9", "--json", db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["balance_fen"] == 3800
    again = run("balance", "pay", "oDee", "1200", "--order", "SHOP-9", db_url=db_url)
    assert again.returncode == 0 and "already paid" in again.stdout
    broke = run("balance", "pay", "oDee", "999999", "--order", "SHOP-10", db_url=db_url)
    assert broke.returncode == 2 and "储值余额不足" in broke.stderr
    show = json.loads(run("member", "show", "oDee", "--json", db_url=db_url).stdout)
    sv = show["stored_value"]
    assert sv["balance_fen"] == sv["ledger_sum_fen"] == 3800
    assert [r["reason"] for r in sv["ledger"]] == ["pay", "recharge"]
    (coupon,) = show["coupons"]
    assert (coupon["text"], coupon["status"]) == ("10元代金券", "available")
    redeemed = run("coupon", "redeem", coupon["code"], "--member", "oDee", "--order", "SHOP-9",
                   "--amount", "3000", "--json", db_url=db_url)
    assert json.loads(redeemed.stdout)["discount_fen"] == 1000, redeemed.stderr
    options = json.loads(run("balance", "options", "--json", db_url=db_url).stdout)
    assert [o["text"] for o in options] == ["充500送50", "充1000送120"]


def test_cli_refunds_a_balance_payment_to_the_balance(live, sim, db_url):
    sim.subscribe("oEve")  # 10 sign-up points
    with live.session() as s:
        topped_up(s, "oEve", 50000)
    paid = json.loads(run("balance", "pay", "oEve", "25000", "--order", "SHOP-20", "--json",
                          db_url=db_url).stdout)
    assert (paid["points"], paid["new_tier"], paid["balance_fen"]) == (250, "silver", 25000)
    out = run("balance", "refund", "SHOP-20", "10000", "--key", "RF-20a", "--json",
              db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) | {"card_no": None} == {
        "card_no": None, "order_no": "SHOP-20", "refund_no": "RF-20a", "amount_fen": 10000,
        "balance_fen": 35000, "points_reversed": 100, "replayed": False}
    again = run("balance", "refund", "SHOP-20", "10000", "--key", "RF-20a", db_url=db_url)
    assert again.returncode == 0 and "already refunded" in again.stdout
    too_much = run("balance", "refund", "SHOP-20", "15001", "--key", "RF-20b", db_url=db_url)
    assert too_much.returncode == 2 and "退款金额超过订单可退金额" in too_much.stderr
    show = json.loads(run("member", "show", "oEve", "--json", db_url=db_url).stdout)
    (order,) = show["orders"]
    assert (order["out_trade_no"], order["api"], order["status"]) == \
        ("SHOP-20", "bal", "partially_refunded")
    assert (show["tier"], show["total_spend_fen"]) == ("normal", 15000)
    assert [r["reason"] for r in show["stored_value"]["ledger"][:2]] == ["pay_refund", "pay"]
