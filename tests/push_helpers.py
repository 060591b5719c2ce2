"""Helpers for push tests: a frozen clock in the programme's zone, members joined over the
webhook at a given time, and reads of delivery rows."""
from __future__ import annotations

import calendar as _cal
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from wx_member.models import Delivery
from wx_member.services import deliveries, push_jobs

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
        return push_jobs.plan(s, live.rt.pushes, kind, live.config, now=now)


def send(live, now: datetime, **kw):
    with live.session() as s:
        return deliveries.send_due(s, live.rt.gateway, live.config.tz, now=now, **kw)


def rows(live, kind: str | None = None) -> list[Delivery]:
    with live.session() as s:
        q = select(Delivery).order_by(Delivery.id)
        if kind:
            q = q.where(Delivery.kind == kind)
        return list(s.scalars(q))


def statuses(live, kind: str | None = None) -> dict[str, str]:
    return {d.openid: d.status for d in rows(live, kind)}
