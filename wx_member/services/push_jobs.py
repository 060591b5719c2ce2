"""Planning pushes: which members get which kind on which occasion.

A planner streams members from the database in batches (keyset on member id: bounded
memory at any member count), renders each member's message and writes delivery rows, one
transaction per batch. The occasion key (`2026:mid_autumn`, `2026` for a birthday,
`2026-12-31:7d` for an expiry notice) makes every planner idempotent: running it twice, in
two processes or after a crash halfway, plans each member once.

A new kind is a definition file in templates_msg/ plus a planner here that picks its
members and occasion (delivery and after-sale care kinds wait for orders, issue 3).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, extract, func, not_, select
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.models import Delivery, Member, MemberReach, SubscribeGrant, utcnow
from wx_member.pushes import calendar
from wx_member.pushes.definitions import PushKind
from wx_member.replies import tier_name
from wx_member.services import points_expiry, settings
from wx_member.services.deliveries import WINDOW_48H, insert_ignoring_duplicates
from wx_member.services.errors import DomainError

log = logging.getLogger(__name__)

BATCH = 1000
UTC = ZoneInfo("UTC")


class PushDisabled(DomainError):
    user_message = "该推送类型未配置，无法发送。"


@dataclass
class PlanResult:
    kind: str
    occasions: list[str]
    planned: int = 0  # rows written now (members already planned are not counted)
    capped: int = 0  # marketing pushes held back by the frequency cap
    dry_run: bool = False


def local_now(now: datetime, tz: ZoneInfo) -> datetime:
    return now.replace(tzinfo=UTC).astimezone(tz)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC).replace(tzinfo=None)


# -- the audience -----------------------------------------------------------------------
def audience(push: PushKind, now: datetime) -> Select:
    """Members the kind's channel can reach: following (template, custom), not marked
    unreachable on the channel, inside the 48 h window (custom), holding a grant (subscribe)."""
    q = select(Member.id, Member.openid, Member.card_no, Member.tier, Member.points_balance)
    if push.channel in ("template", "custom"):
        q = q.where(Member.subscribed.is_(True))
    q = q.where(not_(exists().where(MemberReach.member_id == Member.id,
                                    MemberReach.channel == push.channel)))
    if push.channel == "custom":
        q = q.where(Member.last_seen_at >= now - WINDOW_48H)
    if push.channel == "subscribe":
        q = q.where(exists().where(SubscribeGrant.member_id == Member.id,
                                   SubscribeGrant.template_id == push.template_id,
                                   SubscribeGrant.remaining > 0))
    return q


def _values(cfg: Config, row: Any) -> dict[str, Any]:
    return {"programme": cfg.programme_name, "card_no": row.card_no or "",
            "tier": tier_name(row.tier), "points": row.points_balance}


def _capped(session: Session, member_ids: list[int], now: datetime) -> set[int]:
    cap = settings.get(session, "marketing_pushes_per_week")
    counted = (select(Delivery.member_id).where(
        Delivery.member_id.in_(member_ids), Delivery.marketing.is_(True),
        Delivery.dry_run.is_(False), Delivery.created_at >= now - timedelta(days=7),
        Delivery.status.not_in(("skipped", "failed")))
        .group_by(Delivery.member_id).having(func.count() >= cap))
    return set(session.scalars(counted))


def fan_out(session: Session, push: PushKind, occasion: str, query: Select, cfg: Config,
            now: datetime, extra: Callable[[Any], dict[str, Any]] = lambda row: {},
            batch: int = BATCH) -> tuple[int, int]:
    """Write a delivery row per member of `query` (which selects Member.id first); one
    transaction per batch. Returns (rows planned, members capped)."""
    planned = capped = 0
    last = 0
    while True:
        with session.begin():
            rows = session.execute(query.where(Member.id > last).order_by(Member.id)
                                   .limit(batch)).all()
            if not rows:
                return planned, capped
            last = rows[-1].id
            held = _capped(session, [r.id for r in rows], now) if push.marketing else set()
            out = []
            for row in rows:
                values = {**_values(cfg, row), **extra(row)}
                out.append(_row(push, row.id, row.openid, occasion, values, cfg, now,
                                skipped="frequency cap" if row.id in held else None))
            insert_ignoring_duplicates(session, out)
            planned += len(rows) - len(held)
            capped += len(held)


def _row(push: PushKind, member_id: int | None, openid: str, occasion: str,
         values: dict[str, Any], cfg: Config, now: datetime, skipped: str | None = None,
         dry_run: bool = False) -> dict[str, Any]:
    return {"member_id": member_id, "openid": openid, "kind": push.kind, "occasion": occasion,
            "channel": push.channel, "marketing": push.marketing, "urgent": push.urgent,
            "dry_run": dry_run, "payload": push.render(values, cfg.mini_appid),
            "status": "skipped" if skipped else "queued", "error": skipped, "attempts": 0,
            "next_attempt_at": now, "created_at": now, "finished_at": now if skipped else None}


# -- dry runs ---------------------------------------------------------------------------
def dry_run(session: Session, push: PushKind, occasion: str, openids: Iterable[str],
            cfg: Config, now: datetime, extra: dict[str, Any] | None = None) -> PlanResult:
    """Use case: the kind's message to test openids only (a member's own values when the
    openid is a member's, the definition's samples otherwise). Each dry run is its own
    occasion, so it can be repeated and never uses up the real one."""
    key = f"dry:{occasion}:{now:%Y%m%d%H%M%S}"[:80]
    with session.begin():
        members = {m.openid: m for m in session.scalars(
            select(Member).where(Member.openid.in_(list(openids))))}
        rows = []
        for openid in openids:
            m = members.get(openid)
            values = {**push.sample, **(_values(cfg, m) if m else {}), **(extra or {})}
            rows.append(_row(push, m.id if m else None, openid, key, values, cfg, now,
                             dry_run=True))
        insert_ignoring_duplicates(session, rows)
    return PlanResult(push.kind, [key], planned=len(rows), dry_run=True)


# -- planners ---------------------------------------------------------------------------
def plan_holiday(session: Session, push: PushKind, cfg: Config, now: datetime) -> PlanResult:
    """Greetings for today's festivals (local date), from `calendar` plus `[[options.days]]`."""
    today = local_now(now, cfg.tz).date()
    result = PlanResult(push.kind, [])
    for g in calendar.on(today, push.options.get("days", [])):
        occasion = f"{today.year}:{g.key}"
        result.occasions.append(occasion)
        planned, capped = fan_out(session, push, occasion, audience(push, now), cfg, now,
                                  extra=lambda row, g=g: {"holiday": g.name,
                                                          "greeting": g.greeting})
        result.planned += planned
        result.capped += capped
    return result


def plan_birthday(session: Session, push: PushKind, cfg: Config, now: datetime) -> PlanResult:
    """Members born on today's month and day (local); 29 February counts on 28 February in
    other years."""
    today = local_now(now, cfg.tz).date()
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        days.append(29)
    q = audience(push, now).where(extract("month", Member.birthday) == today.month,
                                  extract("day", Member.birthday).in_(days))
    occasion = str(today.year)
    planned, capped = fan_out(session, push, occasion, q, cfg, now)
    return PlanResult(push.kind, [occasion], planned, capped)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def plan_points_expiry(session: Session, push: PushKind, cfg: Config,
                       now: datetime) -> PlanResult:
    """For each N in `options.days_before` (e.g. 30 and 7): members with points expiring
    on the local day today + N. The amount is what is left of those lots after every debit
    so far took the earliest-expiring lots first (the expiry run's rule,
    services/points_expiry.py): points spent never show up as expiring."""
    today = local_now(now, cfg.tz).date()
    result = PlanResult(push.kind, [])
    for n in push.options.get("days_before", [30, 7]):
        day = today + timedelta(days=int(n))
        start, end = local_midnight_utc(day, cfg.tz), local_midnight_utc(day + timedelta(1), cfg.tz)
        lots = points_expiry.expiring_between(start, end).subquery()
        q = (audience(push, now).add_columns(lots.c.expiring)
             .join(lots, lots.c.member_id == Member.id))
        occasion = f"{day.isoformat()}:{n}d"
        result.occasions.append(occasion)
        planned, capped = fan_out(
            session, push, occasion, q, cfg, now,
            extra=lambda row, day=day: {"amount": int(row.expiring),
                                        "expires_on": day.isoformat()})
        result.planned += planned
        result.capped += capped
    return result


PLANNERS: dict[str, Callable[[Session, PushKind, Config, datetime], PlanResult]] = {
    "holiday": plan_holiday,
    "birthday": plan_birthday,
    "points_expiry": plan_points_expiry,
}


def plan(session: Session, pushes: dict[str, PushKind], kind: str, cfg: Config,
         now: datetime | None = None) -> PlanResult:
    """Use case: plan today's pushes of one kind (idempotent; see the module docstring)."""
    now = now or utcnow()
    push = pushes.get(kind)
    if push is None or kind not in PLANNERS:
        raise PushDisabled(f"no planner for push kind {kind!r}; known: {', '.join(PLANNERS)}")
    if push.disabled:
        raise PushDisabled(push.disabled)
    result = PLANNERS[kind](session, push, cfg, now)
    log.info("planned %s %s: %d rows, %d capped", kind, result.occasions, result.planned,
             result.capped)
    return result
