"""Helpers for push tests: a frozen clock in the programme's zone, members joined over the
webhook at a given time, and reads of delivery rows."""
from __future__ import annotations

import calendar as _cal
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from conftest import APPID, MCH_ID, make_config, serve

from wx_member.models import Delivery
from wx_member.pushes import deliveries
from wx_member.pushes import planners

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATE_IDS = {"birthday": "TPL_BIRTHDAY", "points_expiry": "TPL_EXPIRY"}


def at(local: str) -> datetime:
    """'2026-09-25 10:00' in Shanghai → naive UTC, as the services take `now`."""
    return (datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
            .astimezone(ZoneInfo("UTC")).replace(tzinfo=None))


def ts(now: datetime) -> int:
    return _cal.timegm(now.timetuple())


def join(sim, openids, now: datetime, sandbox=None) -> None:
    """Subscribe at `now` (the app's clock). The sandbox keeps WeChat's 48-hour window on
    its own real clock: tell it the member wrote just now."""
    for i, openid in enumerate(openids):
        assert sim.subscribe(openid, create_time=ts(now) + i).status == 200
        if sandbox is not None:
            sandbox.interact(openid)


def plan(live, kind: str, now: datetime):
    with live.session() as s:
        return planners.plan(s, live.rt.pushes, kind, live.config, now=now)


def send(live, now: datetime, **kw):
    with live.session() as s:
        return deliveries.send_due(s, live.rt.gateway, live.config.tz, now=now, **kw)


def rows(live, kind: str | None = None) -> list[Delivery]:
    with live.session() as s, s.read():
        q = select(Delivery).order_by(Delivery.id)
        if kind:
            q = q.where(Delivery.kind == kind)
        return list(s.scalars(q))


def statuses(live, kind: str | None = None) -> dict[str, str]:
    return {d.openid: d.status for d in rows(live, kind)}


# ---- order-driven pushes (delivery reminders, after-sale care, win-back) --------------------

ORDER_TEMPLATES = {**TEMPLATE_IDS, "order_shipped": "TPL_SHIPPED", "order_guide": "TPL_GUIDE",
                   "care_followup": "TPL_CARE"}
SHOP_KEY = "shop-" + secrets.token_hex(12)


# Fixtures (import them into a test module to use them): the app with WeChat Pay v2, every
# order-driven kind's template id and the shop API key; its simulator; WeChat Pay's notifier.
@pytest.fixture
def shop(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, mch_id=MCH_ID, pay_api_key=secrets.token_hex(16),
                                 template_ids=dict(ORDER_TEMPLATES), shop_api_key=SHOP_KEY))


@pytest.fixture
def wx(shop):
    return shop.simulator()


@pytest.fixture
def payer(shop):
    from wx_member.sandbox.pay import PayNotifier

    return PayNotifier(shop.url, APPID, MCH_ID, api_key=shop.config.pay_api_key)


def buy(payer, openid: str, out_trade_no: str, local: str, fen: int = 5000) -> None:
    """A WeChat Pay v2 notify for an order paid at `local` (Shanghai), over HTTP."""
    time_end = datetime.fromisoformat(local).strftime("%Y%m%d%H%M%S")
    assert payer.v2_payment(openid, out_trade_no, fen, time_end=time_end).ok


def seen(sim, sandbox, openid: str, now: datetime) -> None:
    """The member taps the menu at `now`: inside the 48-hour window of customer-service
    messages, on the app's clock and the sandbox's."""
    assert sim.click(openid, "POINTS", create_time=ts(now)).status == 200
    sandbox.interact(openid)


def sends(sandbox, kind: str) -> list[tuple[str, str]]:
    """(touser, what it said) for each message of a channel the sandbox received."""
    out = []
    for m in sandbox.sent(kind):
        r = m["request"]
        said = (r["text"]["content"] if kind == "custom"
                else " ".join(v["value"] for v in r["data"].values()))
        out.append((r["touser"], said))
    return out
