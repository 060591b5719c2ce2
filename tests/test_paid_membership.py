"""付费会员 over HTTP through the sandbox (issue 14): the mini-program lists products and buys
one (POST /api/me/memberships → a JSAPI order), the sandbox (WeChat Pay) pays and notifies,
the member holds the paid tier until its end, once under replayed notifies; renewal extends
from the end; a spend-earned higher tier stays; the expiry job returns the member to their
spend tier once; the renewal reminder 7 days before the end; the operators' CLI for
products."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import select, update

from api_helpers import ApiClient
from console_helpers import logged_in
from wx_member import scheduler
from wx_member.clock import local_day
from wx_member.loyalty import tiers
from wx_member.models import Delivery, Member, MembershipPurchase, PaidTier, TierHistory
from wxpay_helpers import (MINI_APPID, console_shop, live_shop, merchant_cert,  # noqa: F401
                           merchant_settings, mini_sandbox, run_job, shop)
from wx_member.payments import membership_refunds
from wx_member.platform import settings
from wx_member.pushes import planners
from wx_member.sandbox.pay import PayNotifier


def gold_card(shop, member) -> dict:
    products = shop.get("me/memberships", member).json()["products"]
    return next(p for p in products if p["name"] == "金卡年卡")


def buy(shop, member, product_id: int) -> dict:
    res = shop.post("me/memberships", member, json={"product_id": product_id})
    assert res.status_code == 201, res.text
    return res.json()


def tier_rows(live, openid: str) -> list[tuple[str, str, str]]:
    with live.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.mini_openid == openid))
        return [(h.from_tier, h.to_tier, h.reason) for h in s.scalars(
            select(TierHistory).where(TierHistory.member_id == m.id).order_by(TierHistory.id))]


def paid_end(live, openid: str) -> datetime:
    with live.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.mini_openid == openid))
        return s.get(PaidTier, m.id).ends_at


def run_expiry(live) -> None:
    run_job(live, scheduler.paid_tier_expiry_job)


def test_buy_pay_notify_gold_until_end_once(shop, live_shop, mini_sandbox):  # noqa: F811
    alice = shop.login("oMiniPaidAlice")
    before = shop.get("me/memberships", alice).json()
    assert (before["tier"], before["paid"]) == ("normal", None)
    card = gold_card(shop, alice)
    assert (card["tier"], card["days"], card["price_fen"]) == ("gold", 365, 9900)
    out = buy(shop, alice, card["id"])
    order, payment = out["order"], out["payment"]
    assert (order["purpose"], order["amount_fen"], order["status"]) == ("membership", 9900,
                                                                        "created")
    assert payment["package"].startswith("prepay_id=") and payment["appId"] == MINI_APPID
    sent = mini_sandbox.merchant.orders[order["out_trade_no"]]
    assert sent["payer"] == {"openid": "oMiniPaidAlice"} and "金卡年卡" in sent["description"]
    # A second tap within a minute returns the open order.
    again = buy(shop, alice, card["id"])
    assert again["reused"] and again["order"]["out_trade_no"] == order["out_trade_no"]

    paid_at = datetime.now(timezone.utc).replace(tzinfo=None)
    assert mini_sandbox.merchant.pay(order["out_trade_no"]).status == 204
    for _ in range(5):  # WeChat Pay's retries
        assert mini_sandbox.merchant.renotify(order["out_trade_no"]).status == 204
    polled = shop.get(f"me/orders/{order['out_trade_no']}", alice).json()
    assert polled["status"] == "paid"
    now = shop.get("me/memberships", alice).json()
    assert (now["tier"], now["paid"]["tier"], now["paid"]["tier_zh"]) == ("gold", "gold",
                                                                          "金卡会员")
    end = paid_end(live_shop, "oMiniPaidAlice")
    assert timedelta(days=364, hours=23) < end - paid_at < timedelta(days=365, minutes=5)
    assert tier_rows(live_shop, "oMiniPaidAlice") == [("normal", "gold", "paid")]
    with live_shop.session() as s, s.read():
        assert len(s.scalars(select(MembershipPurchase)).all()) == 1


def test_renewal_before_expiry_extends_from_the_end(shop, live_shop, mini_sandbox):  # noqa: F811
    bob = shop.login("oMiniPaidBob")
    card = gold_card(shop, bob)
    first = buy(shop, bob, card["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(first).status == 204
    end = paid_end(live_shop, "oMiniPaidBob")
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=300), tick=False):
        bob = shop.login("oMiniPaidBob")
        second = buy(shop, bob, card["id"])["order"]["out_trade_no"]
        assert mini_sandbox.merchant.pay(second).status == 204
        assert mini_sandbox.merchant.renotify(second).status == 204
    assert paid_end(live_shop, "oMiniPaidBob") == end + timedelta(days=365)
    assert tier_rows(live_shop, "oMiniPaidBob") == [("normal", "gold", "paid")]


def test_spend_earned_diamond_buying_gold_stays_diamond(shop, live_shop,  # noqa: F811
                                                        mini_sandbox):
    carol = shop.login("oMiniPaidCarol")
    with live_shop.session() as s, s.write() as session:
        session.execute(update(Member).where(Member.mini_openid == "oMiniPaidCarol")
                        .values(tier="diamond", total_spend_fen=150000))
    no = buy(shop, carol, gold_card(shop, carol)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    got = shop.get("me/memberships", carol).json()
    assert (got["tier"], got["paid"]["tier"]) == ("diamond", "gold")
    assert tier_rows(live_shop, "oMiniPaidCarol") == []
    # When the gold ends, the spend tier (diamond) stays.
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=366), tick=False):
        run_expiry(live_shop)
    assert tier_rows(live_shop, "oMiniPaidCarol") == []
    assert shop.get("me/memberships", carol).json()["tier"] == "diamond"


def test_expiry_returns_to_the_spend_tier_once(shop, live_shop, mini_sandbox):  # noqa: F811
    dan = shop.login("oMiniPaidDan")
    with live_shop.session() as s, s.write() as session:  # spend reaching 银卡 (200 yuan)
        session.execute(update(Member).where(Member.mini_openid == "oMiniPaidDan")
                        .values(tier="silver", total_spend_fen=25000))
    no = buy(shop, dan, gold_card(shop, dan)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    run_expiry(live_shop)  # not ended yet: nothing
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=364), tick=False):
        run_expiry(live_shop)
    assert tier_rows(live_shop, "oMiniPaidDan") == [("silver", "gold", "paid")]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=366), tick=False):
        run_expiry(live_shop)
        run_expiry(live_shop)  # again: nothing more
        dan = shop.login("oMiniPaidDan")
        got = shop.get("me/memberships", dan).json()
        assert (got["tier"], got["paid"]) == ("silver", None)
    assert tier_rows(live_shop, "oMiniPaidDan") == [("silver", "gold", "paid"),
                                                     ("gold", "silver", "paid_expired")]


def test_bad_input_changes_nothing(shop, live_shop):  # noqa: F811
    eve = shop.login("oMiniPaidEve")
    res = shop.post("me/memberships", eve, json={"product_id": 999})
    assert res.status_code == 404
    assert res.json()["code"] == "UNKNOWN_MEMBERSHIP_PRODUCT"
    assert "不存在" in res.json()["message"]
    assert shop.post("me/memberships", eve, json={}).status_code in (400, 422)
    assert shop.get("me/memberships", eve).json()["paid"] is None


def test_cli_adds_lists_and_disables_products(live_shop):  # noqa: F811
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "wx_member.cli", "membership", "product",
                               *args], capture_output=True, text=True, timeout=120, env={
                                   **os.environ, "DATABASE_URL": live_shop.config.database_url})
    added = cli("add", "--name", "钻石季卡", "--tier", "diamond", "--days", "90",
                "--price-fen", "19900", "--json")
    assert added.returncode == 0, added.stderr
    pid = json.loads(added.stdout)["id"]
    listed = json.loads(cli("list", "--json").stdout)
    assert [p["name"] for p in listed] == ["金卡年卡", "钻石季卡"]
    assert cli("add", "--name", "x", "--tier", "platinum", "--days", "9",
               "--price-fen", "100").returncode != 0
    assert cli("disable", str(pid)).returncode == 0
    assert [p["name"] for p in json.loads(cli("list", "--json").stdout)] == ["金卡年卡"]
    assert len(json.loads(cli("list", "--all", "--json").stdout)) == 2


def test_renewal_reminder_planned_7_days_before_the_end(shop, live_shop,  # noqa: F811
                                                        mini_sandbox):
    fay = shop.login("oMiniPaidFay")
    no = buy(shop, fay, gold_card(shop, fay)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    end = paid_end(live_shop, "oMiniPaidFay")

    def plan(at):
        with live_shop.session() as uow:
            return planners.plan(uow, live_shop.rt.pushes, "paid_renewal", live_shop.config,
                                 now=at)

    week_before = end - timedelta(days=7)
    with live_shop.session() as s, s.write() as session:  # she follows the Official Account
        session.execute(update(Member).where(Member.mini_openid == "oMiniPaidFay").values(
            openid="oPaidFay", subscribed=True, window_at=week_before - timedelta(hours=1)))
    assert plan(end - timedelta(days=8)).planned == 0
    assert plan(week_before).planned == 1
    assert plan(week_before).planned == 0  # once
    with live_shop.session() as s, s.read():
        [row] = s.scalars(select(Delivery).where(Delivery.kind == "paid_renewal")).all()
    tz = live_shop.config.tz
    assert row.occasion == f"paid:{local_day(end, tz).isoformat()}"
    assert row.payload["text"].startswith(
        f"温馨提示：您的金卡会员将于 {local_day(end, tz).isoformat()} 到期")


def test_a_lost_notify_is_credited_once_by_the_reconciliation_job(shop, live_shop,  # noqa: F811
                                                                   mini_sandbox):
    gus = shop.login("oMiniPaidGus")
    no = buy(shop, gus, gold_card(shop, gus)["id"])["order"]["out_trade_no"]
    mini_sandbox.merchant.pay(no, notify=False)  # paid; the notify never arrives
    scheduler._RUNTIME = live_shop.rt
    try:
        with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=6),
                                 tick=False):
            scheduler.reconcile_payments_job()
            scheduler.reconcile_payments_job()  # again: nothing more
    finally:
        scheduler._RUNTIME = None
    assert shop.get(f"me/orders/{no}", gus).json()["status"] == "paid"
    assert mini_sandbox.merchant.renotify(no).status == 204  # late after all: nothing more
    assert shop.get("me/memberships", gus).json()["tier"] == "gold"
    assert tier_rows(live_shop, "oMiniPaidGus") == [("normal", "gold", "paid")]
    with live_shop.session() as s, s.read():
        assert len(s.scalars(select(MembershipPurchase).where(
            MembershipPurchase.out_trade_no == no)).all()) == 1


def cli_pay(live, *args):
    cfg = live.config
    env = {**os.environ, "DATABASE_URL": cfg.database_url, "WX_APPID": cfg.appid,
           "WX_API_BASE": cfg.api_base, "WX_MINI_APPID": cfg.mini_appid,
           "WXPAY_MCH_ID": cfg.mch_id, "WXPAY_APIV3_KEY": cfg.pay_apiv3_key,
           "WXPAY_PRIVATE_KEY": cfg.pay_private_key, "WXPAY_CERT_SERIAL": cfg.pay_cert_serial,
           "WXPAY_API_BASE": cfg.pay_api_base,
           "WXPAY_NOTIFY_URL": live.url + "pay/v3/notify"}
    return subprocess.run([sys.executable, "-m", "wx_member.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_refund_pro_rata_by_unused_days_ends_the_paid_tier(shop, live_shop,  # noqa: F811
                                                           mini_sandbox):
    hal = shop.login("oMiniPaidHal")
    no = buy(shop, hal, gold_card(shop, hal)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    later = datetime.now(timezone.utc) + timedelta(days=100)
    with time_machine.travel(later, tick=False):  # 100 days used
        with live_shop.session() as uow:
            r = membership_refunds.refund_membership(uow, live_shop.rt.wxpay, no, by="ops:li",
                                                     tz=live_shop.config.tz)
        assert r.unused_days == 264  # 265 days left, the one begun not refunded
        assert (r.refund_fen, r.status, r.tier, r.paid_ends_at) == (
            9900 * 264 // 365, "processing", "normal", None)
        asked = mini_sandbox.merchant.refunds[r.out_refund_no]
        assert asked["amount"] == {"refund": 7160, "total": 9900, "currency": "CNY"}
        [notified] = mini_sandbox.merchant.settle_refunds()
        assert notified.status == 204
        assert PayNotifier(live_shop.url, "", "").replay(notified).status == 204  # a retry
        hal = shop.login("oMiniPaidHal")
        got = shop.get("me/memberships", hal).json()
        assert (got["tier"], got["paid"]) == ("normal", None)
    assert tier_rows(live_shop, "oMiniPaidHal") == [("normal", "gold", "paid"),
                                                     ("gold", "normal", "paid_refund")]
    with live_shop.session() as s, s.read():
        [p] = s.scalars(select(MembershipPurchase)).all()
        assert (p.refund_status, p.refund_fen) == ("succeeded", 7160)
    again = cli_pay(live_shop, "membership", "refund", no)
    assert again.returncode != 0 and "已退款" in again.stderr


def test_refund_by_cli_and_the_never_setting(shop, live_shop, mini_sandbox):  # noqa: F811
    ivy = shop.login("oMiniPaidIvy")
    no = buy(shop, ivy, gold_card(shop, ivy)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    with live_shop.session() as uow:
        settings.change(uow, "paid_membership_refund", "never", "test")
    refused = cli_pay(live_shop, "membership", "refund", no)
    assert refused.returncode != 0 and "不支持退款" in refused.stderr
    assert not mini_sandbox.merchant.refunds
    assert shop.get("me/memberships", ivy).json()["tier"] == "gold"
    with live_shop.session() as uow:
        settings.change(uow, "paid_membership_refund", "prorata", "test")
    done = cli_pay(live_shop, "membership", "refund", no, "--json", "--by", "ops:li")
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert (r["unused_days"], r["refund_fen"], r["tier"]) == (364, 9900 * 364 // 365, "normal")
    assert [n.status for n in mini_sandbox.merchant.settle_refunds()] == [204]
    assert shop.get("me/memberships", ivy).json()["paid"] is None


def test_an_admin_refunds_a_paid_membership_from_the_console(console_shop,  # noqa: F811
                                                             mini_sandbox):  # noqa: F811
    shop = ApiClient(console_shop, mini_sandbox)
    jo = shop.login("oMiniPaidJo")
    no = buy(shop, jo, gold_card(shop, jo)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    with console_shop.session() as s, s.read():
        member_id = s.scalar(select(Member.id).where(Member.mini_openid == "oMiniPaidJo"))
    page = f"/admin/members/{member_id}"
    viewer = logged_in(console_shop, "vic", "operator")
    shown = viewer.get(page).text  # the purchase on the member's page, read by operators
    row = shown.split(f'id="paid-{no}"')[1].split("</tr>")[0]
    assert "金卡年卡" in row and "金卡会员" in row and "99.00" in row
    assert "按未使用天数退款" not in row  # money out: admins only
    assert viewer.post(page + "/membership-refund", {"out_trade_no": no}).status_code == 403
    admin = logged_in(console_shop, "ada", "admin")
    row = admin.get(page).text.split(f'id="paid-{no}"')[1].split("</tr>")[0]
    # Picked from its row (the order number rides along), asked first: no number typed.
    assert f'name="out_trade_no" value="{no}"' in row and "确认退款「金卡年卡」（99.00 元）" in row
    res = admin.post(page + "/membership-refund", {"out_trade_no": no})
    assert res.status_code == 302
    shown = admin.get(page).text
    assert "已申请退款 98.72 元（未使用 364 天），会员等级现为普通会员" in shown
    assert "付费会员退款" in shown  # the tier history row
    row = shown.split(f'id="paid-{no}"')[1].split("</tr>")[0]
    assert "退款处理中 98.72 元" in row and "按未使用天数退款" not in row  # not twice
    assert [n.status for n in mini_sandbox.merchant.settle_refunds()] == [204]
    admin.post(page + "/membership-refund", {"out_trade_no": no})
    assert "该付费会员订单已退款。" in admin.get(page).text


def test_tier_moves_with_a_paid_tier_running(shop, live_shop, mini_sandbox):  # noqa: F811
    """A refund of spend never takes a member below a paid tier still running; a tier
    earned by spend above the paid one survives its end."""
    kay = shop.login("oMiniPaidKay")
    no = buy(shop, kay, gold_card(shop, kay)["id"])["order"]["out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    with live_shop.session() as s, s.read():
        member = s.scalar(select(Member).where(Member.mini_openid == "oMiniPaidKay"))
    with live_shop.session() as s, s.write() as session:
        m = session.get(Member, member.id)
        assert tiers.after_refund(session, m, None, 0, "t", live_shop.config.tz) is None
        session.execute(update(Member).where(Member.id == member.id).values(
            tier="diamond", total_spend_fen=150000))  # then spend made her 钻石
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=366), tick=False):
        run_expiry(live_shop)
    assert shop.get("me/memberships", kay).json()["tier"] == "diamond"
