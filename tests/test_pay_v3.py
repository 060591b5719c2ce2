"""WeChat Pay v3 notifies over HTTP: RSA-signed headers, AES-256-GCM resources, answered
204 when recorded, 4xx JSON {"code": "FAIL"} when refused (nothing written)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pay_helpers import balance_and_sum, count, ledger_rows, member, nothing_paid, order
from wx_member.models import Order, Refund
from wx_member.sandbox.pay import PayNotifier, make_platform_cert


def refused(r) -> bool:
    return r.status == 400 and '"code":"FAIL"' in r.body.replace(" ", "")


def test_payment_then_refund(live_pay, pay_sim, payer):
    pay_sim.subscribe("oAlice")
    r = payer.v3_payment("oAlice", "V1001", 9999)
    assert r.status == 204 and r.body == ""
    o = order(live_pay, "V1001")
    assert (o.amount_fen, o.api, o.points_earned, o.status) == (9999, "v3", 99, "paid")
    assert payer.v3_refund("V1001", "VR1001", 5000, 9999).status == 204
    # floor(99 × 5000 / 9999) = 49
    assert ledger_rows(live_pay, "oAlice")[-1] == (-49, "refund", "refund:VR1001")
    assert order(live_pay, "V1001").status == "partially_refunded"
    assert balance_and_sum(live_pay, "oAlice") == (60, 60)
    assert member(live_pay, "oAlice").total_spend_fen == 4999


def test_replays_and_concurrent_replays_credit_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oBob")
    first = payer.v3_payment("oBob", "V2001", 20000)
    assert first.status == 204
    with ThreadPoolExecutor(max_workers=10) as pool:
        again = list(pool.map(lambda _: payer.replay(first), range(10)))
    assert {r.status for r in again} == {204}
    assert count(live_pay, Order) == 1 and balance_and_sum(live_pay, "oBob") == (210, 210)
    assert member(live_pay, "oBob").tier == "silver"


def test_body_changed_after_signing_is_refused(live_pay, payer):
    headers, body = payer.v3_request("TRANSACTION.SUCCESS",
                                     payer.v3_payment_resource("oEve", "V3001", 100))
    assert refused(payer.post("pay/v3/notify", body.replace(b"V3001", b"V3002")
                              if b"V3001" in body else body + b" ", headers))
    assert nothing_paid(live_pay)


def test_stale_timestamp_is_refused(live_pay, payer):
    assert refused(payer.v3_payment("oEve", "V3003", 100, timestamp=int(time.time()) - 301))
    assert refused(payer.v3_payment("oEve", "V3004", 100, timestamp=int(time.time()) + 600))
    assert nothing_paid(live_pay)


def test_tampered_ciphertext_is_refused(live_pay, payer):
    assert refused(payer.v3_payment("oEve", "V3005", 100, corrupt_ciphertext=True))
    assert nothing_paid(live_pay)


def test_signature_by_another_key_is_refused(live_pay, payer, platform_cert):
    forger = make_platform_cert()
    cfg = live_pay.config
    for serial in (platform_cert.serial, forger.serial):  # claiming ours, or its own
        fake = PayNotifier(live_pay.url, cfg.appid, cfg.mch_id, apiv3_key=cfg.pay_apiv3_key,
                           platform_private_key=forger.private_key_pem, platform_serial=serial)
        assert refused(fake.v3_payment("oEve", "V3006", 100))
    assert nothing_paid(live_pay)


@pytest.mark.parametrize("field", ["appid", "mchid"])
def test_resource_for_another_merchant_is_refused(live_pay, payer, field):
    assert refused(payer.v3_payment("oEve", "V3007", 100, **{field: "someone-else"}))
    assert nothing_paid(live_pay)


def test_missing_headers_are_refused(live_pay, payer):
    headers, body = payer.v3_request("TRANSACTION.SUCCESS",
                                     payer.v3_payment_resource("oEve", "V3008", 100))
    del headers["Wechatpay-Signature"]
    assert refused(payer.post("pay/v3/notify", body, headers))
    assert nothing_paid(live_pay)


def test_known_order_with_another_amount_is_refused(live_pay, pay_sim, payer):
    pay_sim.subscribe("oCarol")
    assert payer.v3_payment("oCarol", "V4001", 1000).status == 204
    r = payer.v3_payment("oCarol", "V4001", 100000)
    assert r.status == 409 and '"FAIL"' in r.body
    assert order(live_pay, "V4001").amount_fen == 1000
    assert balance_and_sum(live_pay, "oCarol") == (20, 20)


def test_unsuccessful_refund_is_acknowledged_only(live_pay, pay_sim, payer):
    pay_sim.subscribe("oDave")
    assert payer.v3_payment("oDave", "V5001", 1000).status == 204
    assert payer.v3_refund("V5001", "VR5001", 1000, 1000, refund_status="ABNORMAL").status == 204
    assert count(live_pay, Refund) == 0 and balance_and_sum(live_pay, "oDave") == (20, 20)


def test_full_v3_refund_replayed_reverses_once(live_pay, pay_sim, payer):
    pay_sim.subscribe("oGus")
    assert payer.v3_payment("oGus", "V6001", 3000).status == 204
    first = payer.v3_refund("V6001", "VR6001", 3000, 3000)
    assert first.status == 204 and payer.replay(first).status == 204
    assert count(live_pay, Refund) == 1
    assert balance_and_sum(live_pay, "oGus") == (10, 10)
    assert order(live_pay, "V6001").status == "refunded"
