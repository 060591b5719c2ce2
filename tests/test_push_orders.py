"""Delivery reminders end to end: orders paid through WeChat Pay notifies, the shop system
marks them shipped and delivered over HTTP (or the CLI), the member gets 发货提醒 and, the
day after delivery, 使用指南, each once, through the sandbox."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

from conftest import APPID, SECRET
from pay_helpers import order
from push_helpers import (ORDER_TEMPLATES, SHOP_KEY as KEY, at, buy, join, payer, plan,  # noqa: F401
                          rows, send, sends, shop, wx)
from wx_member.clock import to_local, utcnow
from wx_member.pushes import fulfilment
from wx_member.platform import settings

BIN = Path(sys.executable).parent / "wx-member"


def call(app, out_trade_no: str, what: str, body=None, key: str | None = KEY, **kw):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{app.url}shop/orders/{out_trade_no}/{what}", json=body,
                         headers={**headers, **kw.pop("headers", {})}, timeout=10, **kw)


def order_state(app, no: str):
    return order(app, no)


def test_shop_api_needs_the_shared_secret(shop, wx, payer):
    join(wx, ["oA"], utcnow())
    buy(payer, "oA", "T1", "2026-11-01 12:00")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
                    {"Authorization": KEY}):
        r = requests.post(f"{shop.url}shop/orders/T1/shipped", headers=headers, timeout=10,
                          json={"carrier": "顺丰速运"})
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED", headers
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert order_state(shop, "T1").shipped_at is None
    assert rows(shop) == []


def test_shop_api_is_off_without_a_configured_key(live):
    r = call(live, "T1", "shipped", {}, key="anything")
    assert r.status_code == 503 and r.json()["code"] == "SHOP_NOT_CONFIGURED"


def test_ship_and_deliver_over_http_errors_and_repeats(shop, wx, payer, sandbox):
    join(wx, ["oA"], utcnow())
    buy(payer, "oA", "T1", "2026-11-01 12:00")
    r = call(shop, "T404", "shipped", {"carrier": "顺丰速运"})
    assert r.status_code == 404 and r.json() == {"code": "ORDER_NOT_FOUND",
                                                 "message": "订单不存在。"}
    r = call(shop, "T1", "delivered")
    assert r.status_code == 409 and r.json() == {"code": "WRONG_ORDER_STATE",
                                                 "message": "订单尚未发货。"}
    for bad in ([1], {"tracking": "SF1"}, {"carrier": "快" * 41}, {"tracking_no": 12345}):
        r = call(shop, "T1", "shipped", bad)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_SHIPMENT", bad
    assert order_state(shop, "T1").shipped_at is None and rows(shop) == []

    r = call(shop, "T1", "shipped", {"carrier": "顺丰速运", "tracking_no": "SF1001"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["changed"] and first["reminder"] == "queued" and first["shipped_at"]
    # The shop system retried (with or without the details): the same answer, no change.
    for body in ({"carrier": "顺丰速运", "tracking_no": "SF1001"}, None):
        again = call(shop, "T1", "shipped", body).json()
        assert not again["changed"] and again["shipped_at"] == first["shipped_at"]
    r = call(shop, "T1", "shipped", {"carrier": "中通快递", "tracking_no": "ZT9"})
    assert r.status_code == 409 and r.json()["message"] == "订单已按其他运单发货。"
    r = call(shop, "T1", "delivered")
    assert r.status_code == 200 and r.json()["changed"] and r.json()["delivered_at"]
    assert call(shop, "T1", "delivered").json()["changed"] is False
    with shop.session() as s:  # real clock: make sure quiet hours do not hold the notice
        settings.change(s, "quiet_start_hour", 0, by="test")
        settings.change(s, "quiet_end_hour", 0, by="test")
    send(shop, utcnow())
    send(shop, utcnow())
    assert [(d.kind, d.occasion, d.status) for d in rows(shop)] == [
        ("order_shipped", "order:T1", "sent")]
    [(touser, said)] = sends(sandbox, "template")
    assert touser == "oA" and "T1 顺丰速运 SF1001 您的订单已发货" in said
    assert sandbox.sent("template")[0]["request"]["template_id"] == "TPL_SHIPPED"


def test_concurrent_repeats_ship_once(shop, wx, payer):
    join(wx, ["oA"], utcnow())
    buy(payer, "oA", "T2", "2026-11-01 12:00")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: call(shop, "T2", "shipped", {"tracking_no": "YT7"}),
                                range(6)))
    assert [r.status_code for r in answers] == [200] * 6
    assert sum(r.json()["changed"] for r in answers) == 1
    assert [(d.kind, d.occasion) for d in rows(shop)] == [("order_shipped", "order:T2")]


def test_walk_in_and_refunded_orders(shop, wx, payer):
    buy(payer, "oWalkIn", "T3", "2026-11-01 12:00")  # paid, never joined
    r = call(shop, "T3", "shipped", {"tracking_no": "SF3"})
    assert r.status_code == 200 and r.json()["reminder"] == "no member"
    join(wx, ["oA"], utcnow())
    buy(payer, "oA", "T4", "2026-11-01 12:00", fen=3000)
    assert payer.v2_refund("T4", "R4", 3000, 3000).ok
    r = call(shop, "T4", "shipped", {"tracking_no": "SF4"})
    assert r.status_code == 409 and r.json()["message"] == "订单已全额退款。"
    assert rows(shop) == []


def test_shipping_reminder_waits_for_quiet_hours_and_guide_follows_delivery(shop, wx, payer,
                                                                             sandbox):
    join(wx, ["oA", "oB"], at("2026-05-01 09:00"))
    buy(payer, "oA", "T1", "2026-05-01 12:00")
    buy(payer, "oB", "T2", "2026-05-01 12:30")
    with shop.session() as s:
        p, c = shop.rt.pushes, shop.config
        fulfilment.mark_shipped(s, p, c, "T1", "顺丰速运", "SF1", now=at("2026-05-02 23:00"))
        fulfilment.mark_shipped(s, p, c, "T2", None, None, now=at("2026-05-03 08:00"))
        fulfilment.mark_delivered(s, "T1", now=at("2026-05-03 20:30"))
        fulfilment.mark_delivered(s, "T2", now=at("2026-05-04 09:00"))
    # Not urgent: shipped at 23:00, told at 09:00 when quiet hours end.
    assert send(shop, at("2026-05-02 23:00")).sent == 0
    assert send(shop, at("2026-05-03 09:00")).sent == 2
    sent = dict(sends(sandbox, "template"))  # sent from a thread pool: in any order
    assert sorted(sent) == ["oA", "oB"]
    assert "快递 — 您的订单已发货" in sent["oB"]  # no carrier given
    sandbox.clear()
    # The guide: the day after the local day of delivery, once, at the planner's hour.
    expected = {"2026-05-03 10:00": 0, "2026-05-04 10:00": 1, "2026-05-04 10:05": 0,
                "2026-05-05 10:00": 1, "2026-05-06 10:00": 0}
    for when, planned in expected.items():
        assert plan(shop, "order_guide", at(when)).planned == planned, when
        send(shop, at(when))
    assert [t for t, _ in sends(sandbox, "template")] == ["oA", "oB"]
    assert sandbox.sent("template")[0]["request"]["template_id"] == "TPL_GUIDE"
    guides = [(d.openid, d.occasion, d.created_at) for d in rows(shop, "order_guide")]
    assert guides == [("oA", "order:T1", at("2026-05-04 10:00")),
                      ("oB", "order:T2", at("2026-05-05 10:00"))]


def test_reminder_catch_up_once_the_kind_is_enabled(shop, wx, payer):
    join(wx, ["oA"], at("2026-05-01 09:00"))
    buy(payer, "oA", "T1", "2026-05-01 12:00")
    push = shop.rt.pushes["order_shipped"]
    template_id, push.template_id, push.disabled = push.template_id, None, "no template id"
    with shop.session() as s:
        result = fulfilment.mark_shipped(s, shop.rt.pushes, shop.config, "T1",
                                         now=at("2026-05-02 10:00"))
    assert result.reminder == "disabled" and rows(shop) == []
    push.template_id, push.disabled = template_id, None  # the operator configured it
    assert plan(shop, "order_shipped", at("2026-05-02 10:30")).planned == 1
    assert plan(shop, "order_shipped", at("2026-05-02 11:00")).planned == 0
    assert plan(shop, "order_shipped", at("2026-05-04 10:30")).planned == 0  # > 24 h: old news
    assert [d.occasion for d in rows(shop)] == ["order:T1"]


def cli(*args, app, sandbox):
    env = {**os.environ, "DATABASE_URL": app.config.database_url, "WX_API_BASE": sandbox.url,
           "WX_APPID": APPID, "WX_SECRET": SECRET,
           **{f"WX_TEMPLATE_{k.upper()}": v for k, v in ORDER_TEMPLATES.items()}}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_order_cli_ship_deliver(shop, wx, payer, sandbox):
    join(wx, ["oA"], utcnow())
    buy(payer, "oA", "T1", "2026-11-01 12:00")
    out = cli("order", "deliver", "T1", app=shop, sandbox=sandbox)
    assert out.returncode == 2 and "has not been shipped" in out.stderr
    out = cli("order", "ship", "T1", "--carrier", "顺丰速运", "--tracking", "SF1", app=shop,
              sandbox=sandbox)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "T1 shipped (顺丰速运 SF1); reminder queued"
    out = cli("order", "ship", "T1", app=shop, sandbox=sandbox)
    assert out.stdout.strip() == "T1 shipped (顺丰速运 SF1) already: nothing changed"
    assert cli("order", "deliver", "T1", app=shop, sandbox=sandbox).returncode == 0
    out = cli("order", "ship", "T9", app=shop, sandbox=sandbox)
    assert out.returncode == 2 and "no order 'T9'" in out.stderr
    assert [(d.kind, d.occasion) for d in rows(shop)] == [("order_shipped", "order:T1")]
    assert order_state(shop, "T1").delivered_at is not None


def test_push_run_plans_the_order_kinds_once(shop, wx, payer, sandbox):
    """`wx-member push run KIND` on the real clock: a first order yesterday is due its day-1
    care step; an order 180 days ago (beyond the care schedule) its 好久不见."""
    join(wx, ["oA", "oB"], utcnow(), sandbox)
    local = to_local(utcnow(), shop.config.tz).replace(tzinfo=None)
    buy(payer, "oA", "T1", str(local - timedelta(days=1)))
    buy(payer, "oB", "T2", str(local - timedelta(days=180)))
    for kind, member, occasion in [("care_followup", "oA", "d1:T1"),
                                   ("winback", "oB", f"{(local - timedelta(days=180)).date()}+180d")]:
        out = cli("push", "run", kind, app=shop, sandbox=sandbox)
        assert out.returncode == 0 and "planned 1," in out.stdout, out.stdout + out.stderr
        again = cli("push", "run", kind, app=shop, sandbox=sandbox)
        assert "planned 0," in again.stdout, again.stdout + again.stderr
        assert [(d.openid, d.occasion) for d in rows(shop, kind)] == [(member, occasion)]
    assert cli("push", "run", "order_guide", app=shop, sandbox=sandbox).returncode == 0
