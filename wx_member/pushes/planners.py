"""Planning pushes: which members get which kind on which occasion.

A planner picks the members and the occasion key; `fanout.fan_out` streams them from
the database in batches (keyset: bounded memory at any member count), renders each
member's message and writes delivery rows, one transaction per batch. The occasion key
(`2026:mid_autumn`, `2026` for a birthday, `2026-12-31:7d` for an expiry notice) makes every
planner idempotent: running it twice, in two processes or after a crash halfway, plans each
member once.

A new kind is a definition file in templates_msg/ plus a planner registered in PLANNERS
that picks its members and occasion. The order-driven kinds (delivery reminders, after-sale
care, win-back) live in `order_planners.py`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.clock import day_bounds, local_day, utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Member
from wx_member.pushes import calendar
from wx_member.pushes.definitions import PushKind
from wx_member.loyalty import birthday_bonus
from wx_member.pushes import balance_notices, notice_planners, order_planners, reach
from wx_member.loyalty import points_expiry
from wx_member.pushes.deliveries import insert_ignoring_duplicates
from wx_member.pushes.fanout import (  # noqa: F401  (PushDisabled, PlanResult: API)
    PlanResult,
    PushDisabled,
    audience,
    counting_channels,
    delivery_row,
    fan_out,
    member_values,
)

log = logging.getLogger(__name__)
__all__ = ["PLANNERS", "PlanResult", "PushDisabled", "dry_run", "forecast", "plan", "utcnow"]


# -- dry runs ---------------------------------------------------------------------------
def dry_run(uow: UnitOfWork, push: PushKind, occasion: str, openids: Iterable[str],
            cfg: Config, now: datetime, extra: dict[str, Any] | None = None,
            channel: str | None = None) -> PlanResult:
    """Use case: the kind's message to test openids only (see `plan_dry_run`)."""
    with uow.write() as session:
        return plan_dry_run(session, push, occasion, openids, cfg, now, extra, channel)


def plan_dry_run(session: Session, push: PushKind, occasion: str, openids: Iterable[str],
                 cfg: Config, now: datetime, extra: dict[str, Any] | None = None,
                 channel: str | None = None) -> PlanResult:
    """In the caller's transaction: the kind's message to test openids only (a member's
    own values when the openid is a member's, the definition's samples otherwise). Each
    dry run is its own occasion, so it can be repeated and never uses up the real one.
    `channel`: one of the kind's (default its first); `mass` goes to message/mass/preview."""
    openids = list(openids)
    key = f"dry:{occasion}:{now:%Y%m%d%H%M%S}"[:80]
    members = {m.openid: m for m in session.scalars(
        select(Member).where(Member.openid.in_(openids)))}
    rows = []
    for openid in openids:
        m = members.get(openid)
        values = {**push.sample, **(member_values(cfg, m) if m else {}), **(extra or {})}
        rows.append(delivery_row(push, m.id if m else None, openid, key, values, cfg,
                                 now, dry_run=True, channel=channel))
    insert_ignoring_duplicates(session, rows)
    return PlanResult(push.kind, [key], planned=len(rows), dry_run=True)


# -- planners ---------------------------------------------------------------------------
def plan_holiday(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                 pushes: Mapping[str, PushKind]) -> PlanResult:
    """Greetings for today's festivals (local date), from `calendar` plus `[[options.days]]`."""
    today = local_day(now, cfg.tz)
    result = PlanResult(push.kind, [])
    for g in calendar.on(today, push.options.get("days", [])):
        occasion = f"{today.year}:{g.key}"
        result.occasions.append(occasion)
        planned, capped = fan_out(uow, push, occasion, audience(push, now), cfg, now,
                                  extra=lambda row, g=g: {"holiday": g.name,
                                                          "greeting": g.greeting})
        result.planned += planned
        result.capped += capped
    return result


def plan_birthday(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                  pushes: Mapping[str, PushKind]) -> PlanResult:
    """Members born on today's month and day (local); 29 February counts on 28 February in
    other years. The birthday points are credited first (once a year; see
    loyalty/birthday_bonus.py), so the message can say how many were added."""
    today = local_day(now, cfg.tz)
    if reach.forecasting() is None:  # a forecast writes nothing
        birthday_bonus.credit(uow, today)
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        days.append(29)
    q = (audience(push, now)
         .add_columns(birthday_bonus.bonus_column(today.year).label("birthday_points"))
         .where(extract("month", Member.birthday) == today.month,
                extract("day", Member.birthday).in_(days)))
    occasion = str(today.year)
    planned, capped = fan_out(uow, push, occasion, q, cfg, now,
                              extra=lambda row: {"birthday_points": row.birthday_points or 0})
    return PlanResult(push.kind, [occasion], planned, capped)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def plan_points_expiry(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                       pushes: Mapping[str, PushKind]) -> PlanResult:
    """For each N in `options.days_before` (e.g. 30 and 7): members with points expiring
    on the local day today + N. The amount is what is left of those lots after every debit
    so far took the earliest-expiring lots first (the expiry run's rule,
    loyalty/points_expiry.py): points spent never show up as expiring."""
    today = local_day(now, cfg.tz)
    result = PlanResult(push.kind, [])
    for n in push.options.get("days_before", [30, 7]):
        day = today + timedelta(days=int(n))
        start, end = day_bounds(day, cfg.tz)
        lots = points_expiry.expiring_between(start, end).subquery()
        q = (audience(push, now).add_columns(lots.c.expiring)
             .join(lots, lots.c.member_id == Member.id))
        occasion = f"{day.isoformat()}:{n}d"
        result.occasions.append(occasion)
        planned, capped = fan_out(
            uow, push, occasion, q, cfg, now,
            extra=lambda row, day=day: {"amount": int(row.expiring),
                                        "expires_on": day.isoformat()})
        result.planned += planned
        result.capped += capped
    return result


# A planner, a use case in batches (its fan-outs open a transaction per batch): (the unit of
# work, its kind, config, now, every kind loaded: for kinds that defer to another, as
# win-back does to the care schedule) → what it planned.
Planner = Callable[[UnitOfWork, PushKind, Config, datetime, Mapping[str, PushKind]], PlanResult]
PLANNERS: dict[str, Planner] = {
    "holiday": plan_holiday,
    "birthday": plan_birthday,
    "points_expiry": plan_points_expiry,
    **order_planners.PLANNERS,
    **notice_planners.PLANNERS,
    **balance_notices.PLANNERS,
}


def forecast(uow: UnitOfWork, pushes: dict[str, PushKind], kind: str, cfg: Config,
             now: datetime | None = None) -> reach.Forecast:
    """Use case, reads only: what `plan` would do now: members targeted, reachable by
    each channel, held by the weekly cap, unreachable and why (see pushes/reach.py)."""
    now = now or utcnow()
    push = _plannable(pushes, kind)
    with reach.gather(kind) as result:
        PLANNERS[kind](uow, push, cfg, now, pushes)
    return result


def _plannable(pushes: dict[str, PushKind], kind: str) -> PushKind:
    push = pushes.get(kind)
    if push is None or kind not in PLANNERS:
        raise PushDisabled(f"no planner for push kind {kind!r}; known: {', '.join(PLANNERS)}")
    if push.disabled:
        raise PushDisabled(push.disabled)
    return push


def plan(uow: UnitOfWork, pushes: dict[str, PushKind], kind: str, cfg: Config,
         now: datetime | None = None) -> PlanResult:
    """Use case, in batches: plan today's pushes of one kind, a transaction per batch of
    members (idempotent; see the module docstring)."""
    now = now or utcnow()
    push = _plannable(pushes, kind)
    with counting_channels() as counts:
        result = PLANNERS[kind](uow, push, cfg, now, pushes)
    result.by_channel = counts
    log.info("planned %s %s: %d rows, %d capped", kind, result.occasions, result.planned,
             result.capped)
    return result

