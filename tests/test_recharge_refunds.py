"""Refunds of recharges the shop starts (issue 14), through the CLI, WeChat Pay (the
sandbox's /v3/refund/domestic/refunds) and its refund notify: only the unspent part goes
back and the bonus is taken back first; the notify completes it once; a refusal by WeChat
Pay puts the money back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from api_helpers import ApiClient
from console_helpers import logged_in
from pay_helpers import count
from test_recharge_wxpay import balance, ledger, recharge
from wx_member.models import Member, Order, RechargeRefund, Refund
from wx_member.payments import balance_payments
from wx_member.sandbox.pay import PayNotifier
from wxpay_helpers import (console_shop, live_shop, merchant_cert,  # noqa: F401
                           merchant_settings, mini_sandbox, shop)

BIN = Path(sys.executable).parent / "wx-member"


def cli(live, *args):
    cfg = live.config
    env = {**os.environ, "DATABASE_URL": cfg.database_url, "WX_APPID": cfg.appid,
           "WX_API_BASE": cfg.api_base, "WX_MINI_APPID": cfg.mini_appid,
           "WXPAY_MCH_ID": cfg.mch_id, "WXPAY_APIV3_KEY": cfg.pay_apiv3_key,
           "WXPAY_PRIVATE_KEY": cfg.pay_private_key, "WXPAY_CERT_SERIAL": cfg.pay_cert_serial,
           "WXPAY_API_BASE": cfg.pay_api_base,
           "WXPAY_NOTIFY_URL": live.url + "pay/v3/notify"}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def paid_recharge(shop, sandbox, member, option_fen: int) -> str:
    no = recharge(shop, member, option_fen=option_fen)["order"]["out_trade_no"]
    assert sandbox.merchant.pay(no).status == 204
    return no


def test_refund_of_a_partly_spent_recharge(shop, live_shop, mini_sandbox):  # noqa: F811
    alice = shop.login("oMiniAlice")
    no = paid_recharge(shop, mini_sandbox, alice, 50000)  # 充500送50: 550 yuan
    with live_shop.session() as uow:  # she spends 200 yuan of it at the till
        balance_payments.pay(uow, alice.card_no, 20000, "SHOP-1", "till",
                             tz=live_shop.config.tz)
    assert balance(live_shop, "oMiniAlice") == (35000, 35000)

    too_much = cli(live_shop, "balance", "refund-recharge", no, "--amount", "30001")
    assert too_much.returncode != 0 and "最多可退 300.00 元" in too_much.stderr
    assert balance(live_shop, "oMiniAlice") == (35000, 35000) and not mini_sandbox.merchant.refunds

    done = cli(live_shop, "balance", "refund-recharge", no, "--json", "--by", "ops:li")
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert (r["amount_fen"], r["bonus_fen"], r["balance_fen"], r["status"]) == (
        30000, 5000, 0, "processing")
    asked = mini_sandbox.merchant.refunds[r["out_refund_no"]]
    assert asked["amount"] == {"refund": 30000, "total": 50000, "currency": "CNY"}
    # The money left the balance when asked (bonus first), so it cannot be spent meanwhile.
    assert ledger(live_shop, "oMiniAlice")[-2:] == [(-5000, "refund_bonus"), (-30000, "refund")]
    assert count(live_shop, Refund) == 0

    notified = mini_sandbox.merchant.settle_refunds()
    assert [n.status for n in notified] == [204]
    assert mini_sandbox.merchant.renotify(no).status == 204  # an old payment retry: nothing
    assert PayNotifier(live_shop.url, "", "").replay(notified[0]).status == 204  # a retry
    with live_shop.session() as s, s.read():
        order = s.scalar(select(Order).where(Order.out_trade_no == no))
        assert (order.refunded_fen, order.status) == (30000, "partially_refunded")
        assert [x.status for x in s.scalars(select(RechargeRefund))] == ["succeeded"]
    assert count(live_shop, Refund) == 1
    assert balance(live_shop, "oMiniAlice") == (0, 0)
    nothing_left = cli(live_shop, "balance", "refund-recharge", no)
    assert nothing_left.returncode != 0 and "最多可退 0.00 元" in nothing_left.stderr


def test_a_refund_wechat_pay_refuses_puts_the_money_back(shop, live_shop, mini_sandbox):  # noqa: F811
    bob = shop.login("oMiniBob")
    no = paid_recharge(shop, mini_sandbox, bob, 100000)  # 充1000送120
    mini_sandbox.merchant.fail_next("refunds", 403, "NOT_ENOUGH")
    refused = cli(live_shop, "balance", "refund-recharge", no, "--amount", "10000")
    assert refused.returncode != 0 and "可退款余额不足" in refused.stderr
    assert balance(live_shop, "oMiniBob") == (112000, 112000)
    with live_shop.session() as s, s.read():
        assert [(x.status, x.error) for x in s.scalars(select(RechargeRefund))] == [
            ("failed", "NOT_ENOUGH")]
    # Then a refund that works: the bonus first (all of it), then 100 yuan.
    ok = cli(live_shop, "balance", "refund-recharge", no, "--amount", "10000", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["balance_fen"] == 112000 - 12000 - 10000
    assert [n.status for n in mini_sandbox.merchant.settle_refunds()] == [204]
    assert balance(live_shop, "oMiniBob") == (90000, 90000)


def test_only_recharges_are_refunded_this_way(shop, live_shop, mini_sandbox):  # noqa: F811
    gus = shop.login("oMiniGus")
    with live_shop.session() as uow:
        paid_recharge(shop, mini_sandbox, gus, 50000)
        balance_payments.pay(uow, gus.card_no, 1000, "SHOP-9", "till", tz=live_shop.config.tz)
    out = cli(live_shop, "balance", "refund-recharge", "SHOP-9")
    assert out.returncode != 0 and "只能退款会员通过微信支付的储值充值订单" in out.stderr
    unknown = cli(live_shop, "balance", "refund-recharge", "NOPE-1")
    assert unknown.returncode != 0


def test_an_admin_refunds_a_recharge_from_the_console(console_shop, mini_sandbox):
    shop = ApiClient(console_shop, mini_sandbox)
    cy = shop.login("oMiniCy")
    no = paid_recharge(shop, mini_sandbox, cy, 50000)
    with console_shop.session() as uow:
        balance_payments.pay(uow, cy.card_no, 50000, "SHOP-2", "till", tz=console_shop.config.tz)
    with console_shop.session() as s, s.read():
        member_id = s.scalar(select(Member.id).where(Member.mini_openid == "oMiniCy"))
    page = f"/admin/members/{member_id}"
    viewer = logged_in(console_shop, "vic", "operator")
    assert "储值原路退款" not in viewer.get(page).text  # money out: admins only
    assert viewer.post(page + "/recharge-refund", {"out_trade_no": no}).status_code == 403
    admin = logged_in(console_shop, "ada", "admin")
    # 550 − 500 spent = 50 left, all of it the bonus: no recharge is offered for a refund.
    assert 'id="recharge-refund"' not in admin.get(page).text
    for typed, refused in (("12.505", "请按元填写金额（如 200 或 199.90，最多两位小数）。"),
                           ("abc", "请按元填写金额"), ("0", "退款金额须大于 0 元")):
        admin.post(page + "/recharge-refund", {"out_trade_no": no, "amount": typed})
        assert refused in admin.get(page).text, typed
    admin.post(page + "/recharge-refund", {"out_trade_no": no, "amount": "0.01"})
    # 550 − 500 spent = 50 left, all of it the bonus: nothing may go back.
    assert "最多可退 0.00 元" in admin.get(page).text
    with console_shop.session() as uow:
        balance_payments.refund(uow, "SHOP-2", 20000, "SHOP-2-R1", "till",
                                tz=console_shop.config.tz)
    shown = admin.get(page).text  # the recharge picked by its date and amount, not typed
    assert "退款金额（元，留空为全部可退）" in shown  # typed in yuan
    assert f'<option value="{no}">' in shown and "充 500.00 元，最多可退 200.00 元" in shown
    assert "确认把所选充值原路退回会员的微信" in shown  # asked first
    res = admin.post(page + "/recharge-refund", {"out_trade_no": no, "amount": ""})
    assert res.status_code == 302
    assert "已申请退款 200.00 元（扣回赠送 50.00 元）" in admin.get(page).text
    assert [n.status for n in mini_sandbox.merchant.settle_refunds()] == [204]
    assert balance(console_shop, "oMiniCy") == (0, 0)
