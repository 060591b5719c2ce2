"""Stored-value notices (issue 14): a recharge paid through WeChat Pay over HTTP (the
sandbox pays and notifies), then payments from the balance at the till: 储值到账通知,
储值消费通知 and, once per crossing of the setting balance_low_fen, 余额不足提醒, each
planned once with the balance that row left."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from wx_member.clock import utcnow
from wx_member.models import Delivery, Member
from wx_member.payments import balance_payments
from wx_member.platform import settings
from wx_member.pushes import planners
from wxpay_helpers import live_shop, merchant_cert, mini_sandbox, shop  # noqa: F401


def plan(live, kind, now):
    with live.session() as uow:
        return planners.plan(uow, live.rt.pushes, kind, live.config, now=now).planned


def texts(live, kind) -> list[str]:
    with live.session() as s, s.read():
        return [d.payload["text"] for d in s.scalars(
            select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id))]


def pay(live, card_no, fen, order_no):
    with live.session() as uow:
        balance_payments.pay(uow, card_no, fen, order_no, "till", tz=live.config.tz)


def test_recharge_payment_and_low_balance_notices(shop, live_shop, mini_sandbox):  # noqa: F811
    kim = shop.login("oMiniKim")
    res = shop.post("me/recharges", kim, json={"option_fen": 50000})  # 充500送50
    assert res.status_code == 201, res.text
    assert mini_sandbox.merchant.pay(res.json()["order"]["out_trade_no"]).status == 204
    with live_shop.session() as s, s.write() as session:  # she follows the Official Account
        session.execute(update(Member).where(Member.mini_openid == "oMiniKim").values(
            openid="oKim", subscribed=True, window_at=utcnow()))
    now = utcnow() + timedelta(seconds=5)
    assert plan(live_shop, "balance_recharged", now) == 1
    assert plan(live_shop, "balance_recharged", now) == 0  # once
    assert texts(live_shop, "balance_recharged") == [
        f"您的储值已到账：充值 500.00 元，赠送 50.00 元，当前余额 550.00 元。\n会员卡号 {kim.card_no}"]

    with live_shop.session() as uow:
        settings.change(uow, "balance_low_fen", 10000, "test")  # below 100 yuan
    pay(live_shop, kim.card_no, 40000, "SHOP-K1")  # 550 → 150: not low yet
    pay(live_shop, kim.card_no, 6000, "SHOP-K2")  # 150 → 90: crosses
    pay(live_shop, kim.card_no, 1000, "SHOP-K3")  # 90 → 80: already low
    now = utcnow() + timedelta(seconds=5)
    assert plan(live_shop, "balance_paid", now) == 3
    assert plan(live_shop, "balance_paid", now) == 0
    assert [t.split("\n")[0] for t in texts(live_shop, "balance_paid")] == [
        "您使用储值余额支付 400.00 元（订单 SHOP-K1），当前余额 150.00 元。",
        "您使用储值余额支付 60.00 元（订单 SHOP-K2），当前余额 90.00 元。",
        "您使用储值余额支付 10.00 元（订单 SHOP-K3），当前余额 80.00 元。"]
    assert plan(live_shop, "balance_low", now) == 1
    assert plan(live_shop, "balance_low", now) == 0
    assert texts(live_shop, "balance_low")[0].startswith(
        "您的储值余额为 90.00 元，已低于 100.00 元")


def test_no_low_balance_notice_while_the_threshold_is_off(shop, live_shop,  # noqa: F811
                                                          mini_sandbox):
    lee = shop.login("oMiniLee")
    res = shop.post("me/recharges", lee, json={"amount_fen": 10000})
    assert mini_sandbox.merchant.pay(res.json()["order"]["out_trade_no"]).status == 204
    with live_shop.session() as s, s.write() as session:
        session.execute(update(Member).where(Member.mini_openid == "oMiniLee").values(
            openid="oLee", subscribed=True, window_at=utcnow()))
    pay(live_shop, lee.card_no, 9900, "SHOP-L1")
    assert plan(live_shop, "balance_low", utcnow() + timedelta(seconds=5)) == 0
