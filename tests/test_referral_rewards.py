"""Percentage referral rewards: the referrer earns a share of the points each of the
referee's first N orders earns, once per order, reversed in proportion on refund."""
from __future__ import annotations

from pay_helpers import balance_and_sum, ledger_rows, member, order
from wx_member.loyalty import points
from wx_member.platform import settings


def configure(live, **values):
    with live.session() as s:
        for key, value in values.items():
            settings.change(s, key, value, by="test")


def test_referrer_earns_a_share_of_the_first_orders_only(live_pay, pay_sim, payer):
    configure(live_pay, referral_mode="percent", referral_percent=10, referral_orders=2)
    pay_sim.subscribe("oAlice")
    pay_sim.subscribe("oBob", scene=f"ref_{member(live_pay, 'oAlice').card_no}")
    assert balance_and_sum(live_pay, "oAlice") == (10, 10)  # nothing for the join itself
    first = payer.v2_payment("oBob", "B1", 10000)  # Bob earns 100 → Alice 10
    assert first.ok
    assert payer.replay(first).ok  # WeChat's retry pays nobody twice
    assert payer.v2_payment("oBob", "B2", 5900).ok  # 59 → 5 (rounded down)
    assert payer.v2_payment("oBob", "B3", 20000).ok  # the third order: nothing
    assert [(d, reason, key) for d, reason, key in ledger_rows(live_pay, "oAlice")] == [
        (10, "signup", f"signup:{member(live_pay, 'oAlice').id}"),
        (10, "referral", "referral-order:B1"), (5, "referral", "referral-order:B2")]
    assert (order(live_pay, "B1").referral_points, order(live_pay, "B3").referral_points) == \
        (10, 0)
    # Half of B1 refunded: Bob gives back 50 of his 100, Alice 5 of her 10.
    assert payer.v2_refund("B1", "BR1", 5000, 10000).ok
    assert ledger_rows(live_pay, "oAlice")[-1] == (-5, "refund", "referral-refund:BR1")
    assert payer.v2_refund("B3", "BR3", 20000, 20000).ok  # no share was paid on B3
    assert balance_and_sum(live_pay, "oAlice") == (20, 20)
    assert balance_and_sum(live_pay, "oBob") == (10 + 100 + 59 + 200 - 50 - 200,) * 2


def test_a_refunded_first_order_still_counts_and_spent_points_are_a_shortfall(
        live_pay, pay_sim, payer):
    configure(live_pay, referral_mode="percent", referral_percent=50, referral_orders=1,
              signup_points=0)
    pay_sim.subscribe("oAlice")
    pay_sim.subscribe("oBob", scene=f"ref_{member(live_pay, 'oAlice').card_no}")
    assert payer.v2_payment("oBob", "B1", 4000).ok  # Bob 40 → Alice 20
    alice = member(live_pay, "oAlice")
    with live_pay.session() as s:  # Alice spends 15 of them
        points.adjust(s, alice, -15, "兑换", "spend-1", by="test")
    assert payer.v2_refund("B1", "BR1", 4000, 4000).ok
    rows = ledger_rows(live_pay, "oAlice")
    assert rows[-1] == (-5, "refund", "referral-refund:BR1")  # what was left of the 20
    assert balance_and_sum(live_pay, "oAlice") == (0, 0)
    assert order(live_pay, "B1").referral_reversed == 20
    assert payer.v2_payment("oBob", "B2", 4000).ok  # B1 was his first order, refunded or not
    assert balance_and_sum(live_pay, "oAlice") == (0, 0)


def test_fixed_mode_is_unchanged_and_pays_nothing_on_orders(live_pay, pay_sim, payer):
    pay_sim.subscribe("oAlice")
    pay_sim.subscribe("oBob", scene=f"ref_{member(live_pay, 'oAlice').card_no}")
    assert payer.v2_payment("oBob", "B1", 10000).ok
    assert [reason for _, reason, _ in ledger_rows(live_pay, "oAlice")] == ["signup", "referral"]
    assert balance_and_sum(live_pay, "oAlice") == (20, 20)
