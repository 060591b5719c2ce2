"""储值充值 through WeChat Pay JSAPI, the whole path over HTTP: the mini-program asks
POST /api/me/recharges, the sandbox (WeChat Pay) pays and notifies /pay/v3/notify, the
balance is credited once; lost notifies found by the reconciliation job, replays and
concurrent copies, closing after 15 minutes, the ladder changed in between, WeChat Pay's
errors, bad input, and platform certificate rotation while notifies arrive."""
from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from helpers import balance_and_sum
from pay_helpers import count
from wx_member import scheduler
from wx_member.models import JsapiOrder, Member, Order, StoredValueLedger
from wx_member.payments import stored_value
from wxpay_helpers import (MINI_APPID, live_shop, merchant_cert, mini_sandbox,  # noqa: F401
                           run_reconciliation, shop)


def ledger(live, openid: str) -> list[tuple[int, str]]:
    with live.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.mini_openid == openid))
        return [(r.delta_fen, r.reason) for r in s.scalars(
            select(StoredValueLedger).where(StoredValueLedger.member_id == m.id)
            .order_by(StoredValueLedger.id))]


def balance(live, openid: str) -> tuple[int, int]:
    with live.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.mini_openid == openid))
        return m.balance_fen, stored_value.ledger_sum(s, m.id)


def recharge(shop, member, **body):
    res = shop.post("me/recharges", member, json=body)
    assert res.status_code == 201, res.text
    return res.json()


def test_create_pay_notify_credited_once(shop, live_shop, mini_sandbox, merchant_cert):  # noqa: F811
    alice = shop.login("oMiniAlice")
    out = recharge(shop, alice, option_fen=50000)
    order, payment = out["order"], out["payment"]
    assert (order["amount_fen"], order["bonus_fen"], order["status"]) == (50000, 5000, "created")
    # What wx.requestPayment needs, signed by the merchant key over WeChat's four lines.
    assert payment["package"].startswith("prepay_id=wx") and payment["signType"] == "RSA"
    assert payment["appId"] == MINI_APPID
    message = "\n".join([MINI_APPID, payment["timeStamp"], payment["nonceStr"],
                         payment["package"]]) + "\n"
    x509.load_pem_x509_certificate(merchant_cert.cert_pem).public_key().verify(
        base64.b64decode(payment["paySign"]), message.encode(), padding.PKCS1v15(),
        hashes.SHA256())
    # WeChat Pay got the order as WeChat documents it.
    sent = mini_sandbox.merchant.orders[order["out_trade_no"]]
    assert sent["payer"] == {"openid": "oMiniAlice"} and sent["appid"] == MINI_APPID
    assert sent["attach"] == "recharge" and sent["amount"] == {"total": 50000, "currency": "CNY"}
    assert "充500送50" in sent["description"]

    notified = mini_sandbox.merchant.pay(order["out_trade_no"])
    assert notified.status == 204, notified.body
    polled = shop.get(f"me/orders/{order['out_trade_no']}", alice).json()
    assert (polled["status"], polled["status_zh"]) == ("paid", "已支付")
    assert balance(live_shop, "oMiniAlice") == (55000, 55000)
    assert ledger(live_shop, "oMiniAlice") == [(50000, "recharge"), (5000, "recharge_bonus")]
    assert shop.get("me/balance", alice).json()["balance_fen"] == 55000


def test_notify_replayed_15_times_and_concurrently_credits_once(shop, live_shop,  # noqa: F811
                                                                 mini_sandbox):
    bob = shop.login("oMiniBob")
    no = recharge(shop, bob, amount_fen=20000)["order"]["out_trade_no"]
    first = mini_sandbox.merchant.pay(no)
    assert first.status == 204
    for _ in range(14):  # WeChat Pay's retries over 24 hours
        assert mini_sandbox.merchant.renotify(no).status == 204
    with ThreadPoolExecutor(max_workers=8) as pool:  # two workers get the same retry
        statuses = set(pool.map(lambda _: mini_sandbox.merchant.renotify(no).status, range(8)))
    assert statuses == {204}
    assert balance(live_shop, "oMiniBob") == (20000, 20000)
    assert count(live_shop, Order) == 1


def test_a_lost_notify_is_credited_once_by_the_reconciliation_job(shop, live_shop,  # noqa: F811
                                                                   mini_sandbox):
    carol = shop.login("oMiniCarol")
    no = recharge(shop, carol, option_fen=100000)["order"]["out_trade_no"]
    mini_sandbox.merchant.pay(no, notify=False)  # paid; the notify never arrives
    run_reconciliation(live_shop)  # under five minutes: not asked yet
    assert balance(live_shop, "oMiniCarol") == (0, 0)
    later = datetime.now(timezone.utc) + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        run_reconciliation(live_shop)
        run_reconciliation(live_shop)  # again: nothing more
        assert shop.get(f"me/orders/{no}", carol).json()["status"] == "paid"
    assert balance(live_shop, "oMiniCarol") == (112000, 112000)  # 充1000送120
    # The notify arrives after all: acknowledged, nothing more.
    assert mini_sandbox.merchant.renotify(no).status == 204
    assert balance(live_shop, "oMiniCarol") == (112000, 112000)


def test_unpaid_orders_close_after_15_minutes_and_a_late_notify_is_checked(  # noqa: F811
        shop, live_shop, mini_sandbox):
    dan = shop.login("oMiniDan")
    no = recharge(shop, dan, amount_fen=3000)["order"]["out_trade_no"]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=16), tick=False):
        run_reconciliation(live_shop)
    assert shop.get(f"me/orders/{no}", dan).json()["status"] == "closed"
    assert mini_sandbox.merchant.orders[no]["trade_state"] == "CLOSED"
    with pytest.raises(ValueError):
        mini_sandbox.merchant.pay(no)  # WeChat Pay no longer takes the payment
    # A notify saying it was paid after all (authentic, but WeChat Pay's record says CLOSED):
    # checked with WeChat Pay, refused, nothing credited.
    late = mini_sandbox.merchant.notify_paid(no)
    assert late.status == 409, late.body
    assert balance(live_shop, "oMiniDan") == (0, 0) and count(live_shop, Order) == 0


def test_a_payment_crossing_the_close_is_credited_once(shop, live_shop, mini_sandbox):  # noqa: F811
    erin = shop.login("oMiniErin")
    no = recharge(shop, erin, amount_fen=3000)["order"]["out_trade_no"]
    with live_shop.session() as s, s.begin():  # we closed it, as the job would have
        s.scalar(select(JsapiOrder).where(JsapiOrder.out_trade_no == no)).status = "closed"
    notified = mini_sandbox.merchant.pay(no)  # but the payer paid just before
    assert notified.status == 204, notified.body
    assert mini_sandbox.merchant.renotify(no).status == 204
    assert balance(live_shop, "oMiniErin") == (3000, 3000)
    assert shop.get(f"me/orders/{no}", erin).json()["status"] == "paid"


def test_the_bonus_is_fixed_when_the_order_is_made(shop, live_shop, mini_sandbox):  # noqa: F811
    fay = shop.login("oMiniFay")
    no = recharge(shop, fay, option_fen=50000)["order"]["out_trade_no"]
    with live_shop.session() as uow:  # an operator changes the ladder before the notify
        stored_value.set_option(uow, 50000, 8000, by="op")
    assert mini_sandbox.merchant.pay(no).status == 204
    assert balance(live_shop, "oMiniFay") == (55000, 55000)
    no2 = recharge(shop, fay, option_fen=50000)["order"]["out_trade_no"]
    with live_shop.session() as uow:  # withdrawn meanwhile: this order keeps its bonus
        stored_value.set_option(uow, 50000, 8000, by="op", active=False)
    assert mini_sandbox.merchant.pay(no2).status == 204
    assert balance(live_shop, "oMiniFay") == (55000 + 58000, 55000 + 58000)


def test_a_second_tap_within_a_minute_returns_the_open_order(shop, live_shop,  # noqa: F811
                                                            mini_sandbox):
    gus = shop.login("oMiniGus")
    first = recharge(shop, gus, option_fen=50000)
    again = recharge(shop, gus, option_fen=50000)
    assert again["reused"] and again["order"]["out_trade_no"] == first["order"]["out_trade_no"]
    assert again["payment"]["package"] == first["payment"]["package"]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=2), tick=False):
        third = recharge(shop, gus, option_fen=50000)
    assert not third["reused"] and third["order"]["out_trade_no"] != first["order"]["out_trade_no"]
    assert count(live_shop, JsapiOrder) == 2
    # 其他金额: the same typed amount again is the same order; another amount, or the rung
    # of that amount, is not (a rung's order and a typed one are kept apart).
    typed = recharge(shop, gus, amount_fen=12345)
    assert not typed["reused"]
    again = recharge(shop, gus, amount_fen=12345)
    assert again["reused"] and again["order"]["out_trade_no"] == typed["order"]["out_trade_no"]
    assert not recharge(shop, gus, amount_fen=12346)["reused"]
    assert not recharge(shop, gus, amount_fen=50000)["reused"]
    assert count(live_shop, JsapiOrder) == 5


def test_a_typed_amount_gets_the_bonus_of_the_highest_rung_it_reaches(  # noqa: F811
        shop, live_shop, mini_sandbox):
    """{amount_fen}: the bonus is the ladder's (充500送50, 充1000送120) for the highest rung
    the amount reaches, equal to it included, fixed on the order; the description WeChat Pay
    shows the payer names the amount to the fen."""
    ivy = shop.login("oMiniIvy")
    for fen, bonus, words in [(49999, 0, "充499.99"), (50000, 5000, "充500送50"),
                              (70001, 5000, "充700.01送50"),
                              (12345678, 12000, "充123456.78送120")]:
        order = recharge(shop, ivy, amount_fen=fen)["order"]
        assert (order["amount_fen"], order["bonus_fen"]) == (fen, bonus)
        assert mini_sandbox.merchant.orders[order["out_trade_no"]]["description"] == \
            f"会员储值 {words}"
    no = recharge(shop, ivy, amount_fen=70001)["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    assert ledger(live_shop, "oMiniIvy") == [(70001, "recharge"), (5000, "recharge_bonus")]


@pytest.mark.parametrize("body, status, code", [
    ({"amount_fen": 99}, 400, "INVALID_AMOUNT"),
    ({"amount_fen": 50_000_001}, 400, "INVALID_AMOUNT"),
    ({"option_fen": 12345}, 404, "UNKNOWN_RECHARGE_OPTION"),
    ({}, 400, "INVALID_AMOUNT"),
    ({"option_fen": 50000, "amount_fen": 50000}, 400, "INVALID_AMOUNT"),
    ({"amount_fen": "lots"}, 422, "VALIDATION_FAILED"),
])
def test_bad_input_is_refused_in_chinese_and_changes_nothing(shop, live_shop, body, status,  # noqa: F811
                                                             code):
    hal = shop.login("oMiniHal")
    res = shop.post("me/recharges", hal, json=body)
    assert (res.status_code, res.json()["code"]) == (status, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in res.json()["message"])
    assert count(live_shop, JsapiOrder) == 0


def test_a_member_without_a_mini_program_openid_cannot_recharge(shop, live_shop):  # noqa: F811
    from wx_member.clock import utcnow
    from wx_member.members import membership
    from wx_member.platform import access_tokens

    with live_shop.session() as s, s.begin():  # joined by following the Official Account
        member_id = membership.new_member(s, utcnow(), openid="oOfficialOnly",
                                          subscribed=True).id
    token = access_tokens.issue_access(live_shop.config.secret_key, member_id, 600).token
    res = shop.post("me/recharges", token, json={"option_fen": 50000})
    assert (res.status_code, res.json()["code"]) == (409, "NO_MINI_OPENID")
    assert res.json()["message"] == "请先在小程序中登录后再充值。"
    assert count(live_shop, JsapiOrder) == 0


@pytest.mark.parametrize("status, wx_code, http, code, message", [
    (500, "SYSTEM_ERROR", 503, "WXPAY_UNAVAILABLE", "微信支付系统繁忙，请稍后再试。"),
    (429, "FREQUENCY_LIMITED", 503, "WXPAY_UNAVAILABLE", "操作太频繁，请稍后再试。"),
    (400, "ORDERPAID", 409, "ORDER_PAID", "该订单已支付，请勿重复支付。"),
    (400, "ORDER_CLOSED", 409, "ORDER_CLOSED", "该订单已关闭，请重新下单。"),
])
def test_wechat_pay_errors_answer_clearly_and_credit_nothing(shop, live_shop, mini_sandbox,  # noqa: F811
                                                             caplog, status, wx_code, http,
                                                             code, message):
    ivy = shop.login("oMiniIvy")
    mini_sandbox.merchant.fail_next("jsapi", status, wx_code)
    res = shop.post("me/recharges", ivy, json={"option_fen": 50000})
    assert (res.status_code, res.json()["code"], res.json()["message"]) == (http, code, message)
    assert wx_code in caplog.text
    with live_shop.session() as s, s.read():
        assert [o.status for o in s.scalars(select(JsapiOrder))] == ["failed"]
    assert balance(live_shop, "oMiniIvy") == (0, 0) and count(live_shop, Order) == 0
    run_reconciliation(live_shop)  # a failed order is not reconciled into a credit
    assert balance(live_shop, "oMiniIvy") == (0, 0)


def test_the_member_cancels_an_unpaid_order(shop, live_shop, mini_sandbox):  # noqa: F811
    jo = shop.login("oMiniJo")
    no = recharge(shop, jo, option_fen=50000)["order"]["out_trade_no"]
    res = shop.post(f"me/orders/{no}/cancel", jo)
    assert res.status_code == 200 and res.json()["status"] == "closed"
    assert mini_sandbox.merchant.orders[no]["trade_state"] == "CLOSED"
    again = shop.post(f"me/orders/{no}/cancel", jo)
    assert (again.status_code, again.json()["code"]) == (409, "PAY_ORDER_NOT_OPEN")
    other = shop.login("oMiniKim")
    assert shop.get(f"me/orders/{no}", other).status_code == 404


def test_platform_certificate_rotation_while_notifies_arrive(shop, live_shop,  # noqa: F811
                                                             mini_sandbox):
    lee = shop.login("oMiniLee")
    nos = [recharge(shop, lee, amount_fen=1000 + i)["order"]["out_trade_no"] for i in range(4)]
    assert mini_sandbox.merchant.pay(nos[0]).status == 204  # signed by the first certificate
    old = mini_sandbox.merchant.signer
    mini_sandbox.merchant.rotate()  # WeChat Pay now signs with a new one
    assert mini_sandbox.merchant.pay(nos[1]).status == 204  # an unknown serial: refetched
    mini_sandbox.merchant.signer = old  # a retry signed before the rotation arrives late
    assert mini_sandbox.merchant.pay(nos[2]).status == 204
    mini_sandbox.merchant.signer = mini_sandbox.merchant.platforms[-1]
    assert mini_sandbox.merchant.pay(nos[3]).status == 204
    assert balance(live_shop, "oMiniLee") == (4006, 4006)
    assert len(live_shop.rt.wxpay.keys.serials()) == 2
    # Later (an unknown serial refetches at most once a minute), notifies in flight while
    # WeChat Pay rotates again: every one is accepted, once.
    more = [recharge(shop, lee, amount_fen=2000 + i)["order"]["out_trade_no"] for i in range(6)]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=2)), \
            ThreadPoolExecutor(max_workers=3) as pool:
        early = [pool.submit(mini_sandbox.merchant.pay, no) for no in more[:3]]
        mini_sandbox.merchant.rotate()
        late = [pool.submit(mini_sandbox.merchant.pay, no) for no in more[3:]]
        assert {f.result().status for f in early + late} == {204}
    assert balance(live_shop, "oMiniLee") == (4006 + 12015, 4006 + 12015)


def test_the_scheduler_reconciles_every_minute_when_wechat_pay_is_configured(live_shop):  # noqa: F811
    from dataclasses import replace

    try:
        jobs = scheduler.build_scheduler(live_shop.rt).get_jobs()
        assert "reconcile_payments" in {j.id for j in jobs}
        without = scheduler.build_scheduler(replace(live_shop.rt, wxpay=None)).get_jobs()
        assert "reconcile_payments" not in {j.id for j in without}
    finally:
        scheduler._RUNTIME = None
