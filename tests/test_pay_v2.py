"""WeChat Pay v2 notifies over HTTP: payments credited once, refunds reversed in proportion,
anything not authentic or inconsistent refused with a FAIL answer and nothing written."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from pay_helpers import (balance_and_sum, count, ledger, ledger_rows, member, nothing_paid,
                         order, refunds, tier_history)
from wx_member.models import Order, PointsLedger, Refund
from wx_member.sandbox.pay import PayNotifier
from wx_member.members import membership
from wx_member.loyalty import points


def test_md5_payment_credits_points_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oAlice")
    r = payer.v2_payment("oAlice", "T1001", 12345)
    assert r.status == 200 and r.return_code == "SUCCESS" and "<![CDATA[OK]]>" in r.body
    o = order(live_pay, "T1001")
    assert (o.amount_fen, o.status, o.points_earned, o.api) == (12345, "paid", 123, "v2")
    assert o.member_id == member(live_pay, "oAlice").id and o.transaction_id
    assert ledger_rows(live_pay, "oAlice")[-1] == (123, "purchase", "order:T1001")
    assert balance_and_sum(live_pay, "oAlice") == (133, 133)
    assert member(live_pay, "oAlice").total_spend_fen == 12345


def test_hmac_sha256_payment_earns_at_the_members_tier_rate(live_pay, pay_sim, payer):
    pay_sim.subscribe("oBob")
    assert payer.v2_payment("oBob", "T2001", 20000, sign_type="HMAC-SHA256").ok
    assert member(live_pay, "oBob").tier == "silver"  # reached 200 yuan with this payment
    assert payer.v2_payment("oBob", "T2002", 1999, sign_type="HMAC-SHA256").ok
    # 200 yuan at 普通 (100%) → 200; then 19.99 yuan at 银卡 (120%) = 23.988 → 23 (floor).
    earned = [d for d, reason, _ in ledger_rows(live_pay, "oBob") if reason == "purchase"]
    assert earned == [200, 23]
    assert balance_and_sum(live_pay, "oBob") == (233, 233)


def test_fifteen_replays_credit_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oCarol")
    first = payer.v2_payment("oCarol", "T3001", 5000)
    replies = [payer.replay(first) for _ in range(15)]
    assert first.ok and all(r.ok for r in replies)
    assert count(live_pay, Order) == 1 and balance_and_sum(live_pay, "oCarol") == (60, 60)
    assert member(live_pay, "oCarol").total_spend_fen == 5000


@pytest.mark.parametrize("payer_is_member", [True, False])
def test_ten_concurrent_identical_notifies_credit_once(live_pay, pay_sim, payer, payer_is_member):
    if payer_is_member:
        pay_sim.subscribe("oDave")
    xml = payer.v2_payment_xml("oDave", "T4001", 8800)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: payer.post("pay/notify", xml), range(10)))
    assert [r.return_code for r in results] == ["SUCCESS"] * 10, [r.body for r in results]
    assert count(live_pay, Order) == 1
    if payer_is_member:
        assert balance_and_sum(live_pay, "oDave") == (98, 98)
        assert member(live_pay, "oDave").total_spend_fen == 8800


@pytest.mark.parametrize("kw", [
    {"sign": "0" * 32},
    {"appid": "wxsomeoneelse000"},
    {"mch_id": "1234567890"},
    {"total_fee": "-100"},
    {"total_fee": "12.50"},
    {"total_fee": "0"},
    {"out_trade_no": ""},
    {"sign_type": "SHA1"},
], ids=["bad-sign", "wrong-appid", "wrong-mch-id", "negative-fee", "non-integer-fee",
        "zero-fee", "no-out-trade-no", "unknown-sign-type"])
def test_refused_notifies_write_nothing(live_pay, pay_sim, payer, kw):
    kw = dict(kw)  # the parameter is shared by the sqlite and mariadb runs
    pay_sim.subscribe("oEve")
    r = payer.v2_payment("oEve", kw.pop("out_trade_no", "T5001"), kw.pop("total_fee", 1000), **kw)
    assert r.status == 400 and r.return_code == "FAIL"
    assert nothing_paid(live_pay) and balance_and_sum(live_pay, "oEve") == (10, 10)


def test_tampered_amount_after_signing_is_refused(live_pay, payer):
    xml = payer.v2_payment_xml("oEve", "T5002", 100)
    xml = xml.replace(b"<total_fee>100<", b"<total_fee>99999<")
    r = payer.post("pay/notify", xml)
    assert r.status == 400 and r.return_code == "FAIL" and nothing_paid(live_pay)


def test_hostile_xml_is_refused(live_pay, payer):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>'
            b"<xml><return_code>&a;</return_code></xml>")
    for body in (bomb, b"<xml><unclosed>", b"not xml at all"):
        r = payer.post("pay/notify", body)
        assert r.status == 400 and r.return_code == "FAIL"
    assert nothing_paid(live_pay)


def test_known_order_with_another_amount_is_refused(live_pay, pay_sim, payer):
    pay_sim.subscribe("oFrank")
    assert payer.v2_payment("oFrank", "T6001", 3000).ok
    r = payer.v2_payment("oFrank", "T6001", 300000)
    assert r.status == 409 and r.return_code == "FAIL"
    assert order(live_pay, "T6001").amount_fen == 3000
    assert balance_and_sum(live_pay, "oFrank") == (40, 40)
    assert member(live_pay, "oFrank").total_spend_fen == 3000


def test_payer_who_is_not_a_member_is_recorded_without_points(live_pay, payer):
    r = payer.v2_payment("oWalkIn", "T7001", 4200)
    assert r.ok
    o = order(live_pay, "T7001")
    assert o.member_id is None and o.openid == "oWalkIn" and o.points_earned == 0
    assert count(live_pay, PointsLedger) == 0 and member(live_pay, "oWalkIn") is None


def test_failed_payment_is_acknowledged_and_not_recorded(live_pay, pay_sim, payer):
    pay_sim.subscribe("oGina")
    assert payer.v2_payment("oGina", "T8001", 1000, result_code="FAIL", err_code="NOTENOUGH").ok
    assert nothing_paid(live_pay)


def test_partial_then_full_refund_reverses_points_in_proportion(live_pay, pay_sim, payer):
    pay_sim.subscribe("oHank")
    assert payer.v2_payment("oHank", "T9001", 10000).ok  # 100 points
    r = payer.v2_refund("T9001", "R9001a", 3333, 10000)
    assert r.ok, r.body
    # floor(100 × 3333 / 10000) = 33 back; the member keeps the rounding.
    assert ledger_rows(live_pay, "oHank")[-1] == (-33, "refund", "refund:R9001a")
    o = order(live_pay, "T9001")
    assert (o.status, o.refunded_fen, o.points_reversed) == ("partially_refunded", 3333, 33)
    assert payer.v2_refund("T9001", "R9001b", 6667, 10000).ok
    # In all floor(100 × 10000 / 10000) = 100: a full refund takes back exactly what it earned.
    assert ledger_rows(live_pay, "oHank")[-1] == (-67, "refund", "refund:R9001b")
    o = order(live_pay, "T9001")
    assert (o.status, o.refunded_fen, o.points_reversed) == ("refunded", 10000, 100)
    assert balance_and_sum(live_pay, "oHank") == (10, 10)
    assert member(live_pay, "oHank").total_spend_fen == 0


def test_refund_below_a_threshold_lowers_the_tier_with_history(live_pay, pay_sim, payer):
    pay_sim.subscribe("oIvy")
    assert payer.v2_payment("oIvy", "T1101", 25000).ok
    assert member(live_pay, "oIvy").tier == "silver"
    assert payer.v2_refund("T1101", "R1101", 6000, 25000).ok  # 190 yuan left
    assert member(live_pay, "oIvy").tier == "normal"
    assert tier_history(live_pay, "oIvy") == [
        ("normal", "silver", "payment", "order:T1101"),
        ("silver", "normal", "refund", "refund:R1101")]


def test_replayed_and_concurrent_refunds_reverse_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oJack")
    assert payer.v2_payment("oJack", "T1201", 10000).ok
    first = payer.v2_refund("T1201", "R1201", 5000, 10000)
    assert first.ok and all(payer.replay(first).ok for _ in range(3))
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(r.ok for r in pool.map(lambda _: payer.replay(first), range(8)))
    assert count(live_pay, Refund) == 1
    assert balance_and_sum(live_pay, "oJack") == (60, 60)


def test_refund_of_spent_points_stops_at_zero_and_records_the_shortfall(live_pay, pay_sim,
                                                                       payer):
    pay_sim.subscribe("oKate")
    assert payer.v2_payment("oKate", "T1301", 10000).ok  # balance 110
    with live_pay.session() as s:
        with s.read():
            kate = membership.require(s, "oKate")
        points.adjust(s, kate, -105, "兑换咖啡", "k1", by="test")  # its own transaction
    assert payer.v2_refund("T1301", "R1301", 10000, 10000).ok
    last = ledger(live_pay, "oKate")[-1]
    assert (last.delta, last.reason) == (-5, "refund") and "shortfall 95" in last.source
    (refund,) = refunds(live_pay, "T1301")
    assert (refund.points_reversed, refund.points_shortfall) == (5, 95)
    assert balance_and_sum(live_pay, "oKate") == (0, 0)


@pytest.mark.parametrize("case", ["unknown-order", "too-much", "wrong-total", "wrong-key",
                                  "wrong-mch-id"])
def test_refused_refunds_change_nothing(live_pay, pay_sim, payer, case):
    pay_sim.subscribe("oLeo")
    assert payer.v2_payment("oLeo", "T1401", 10000).ok
    kw = {"unknown-order": dict(out_trade_no="T-nope"),
          "too-much": dict(refund_fee=10001),
          "wrong-total": dict(total_fee=20000),
          "wrong-key": dict(api_key="not-the-merchant-key"),
          "wrong-mch-id": dict(mch_id="1234567890")}[case]
    args = dict(out_trade_no="T1401", out_refund_no="R1401", refund_fee=1000, total_fee=10000)
    args.update(kw)
    r = payer.v2_refund(**args)
    assert r.return_code == "FAIL" and r.status in (400, 409)
    assert count(live_pay, Refund) == 0 and balance_and_sum(live_pay, "oLeo") == (110, 110)
    assert order(live_pay, "T1401").status == "paid"


def test_refund_that_did_not_succeed_is_acknowledged_only(live_pay, pay_sim, payer):
    pay_sim.subscribe("oMia")
    assert payer.v2_payment("oMia", "T1501", 10000).ok
    assert payer.v2_refund("T1501", "R1501", 1000, 10000, refund_status="CHANGE").ok
    assert count(live_pay, Refund) == 0 and balance_and_sum(live_pay, "oMia") == (110, 110)


def test_without_merchant_keys_notifies_are_refused(live, sim):
    sim.subscribe("oNed")
    payer = PayNotifier(live.url, live.config.appid, "1900000109", api_key="k" * 32)
    r = payer.v2_payment("oNed", "T1601", 1000)
    assert r.status == 503 and r.return_code == "FAIL"
    assert nothing_paid(live)


def test_a_member_known_only_by_the_mini_program_earns_on_its_payments(live_pay, payer):
    """Paid inside the mini-program: the payer's openid is the mini-program's, not the
    Official Account's. Purchases earn and recharges credit that member."""
    from sqlalchemy import select

    from wx_member.models import Member, utcnow

    with live_pay.session() as s, s.begin():  # as a mini-program login creates them
        membership.new_member(s, utcnow(), openid=None, mini_openid="oMiniPayer", subscribed=False)
    assert payer.v2_payment("oMiniPayer", "T9001", 8800).ok
    assert payer.v2_payment("oMiniPayer", "R9001", 10000, attach="recharge").ok
    with live_pay.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.mini_openid == "oMiniPayer"))
        assert (m.points_balance, m.total_spend_fen, m.balance_fen) == (88, 8800, 10000)
    assert order(live_pay, "T9001").member_id == m.id == order(live_pay, "R9001").member_id
