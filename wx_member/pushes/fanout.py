"""The machinery every push planner uses: fanning a kind out to its members in batches (a
use case: a transaction per batch) on the channel chosen for each (`reach`), the frequency
cap, and one member's row inside another use case (a rule: the caller's transaction).
While a forecast is gathered (`reach.gather`), `fan_out` counts instead of writing.

Planners (`planners`, `order_planners`) choose the members and the occasion key;
this module writes the delivery rows. Times: `now` is naive UTC; days are local.
"""
from __future__ import annotations

from collections.abc import Callable
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.models import Member
from wx_member.pushes.definitions import PushKind
from wx_member.labels import tier_name
from wx_member.pushes import reach
from wx_member.pushes.deliveries import insert_ignoring_duplicates
from wx_member.pushes.reach import audience, capped_members  # noqa: F401  (planners' API)
from wx_member.platform.errors import DomainError
from wx_member.platform.keyset import batches

BATCH = 1000


class PushDisabled(DomainError):
    code = "PUSH_DISABLED"
    user_message = "该推送类型未配置，无法发送。"


@dataclass
class PlanResult:
    kind: str
    occasions: list[str]
    planned: int = 0  # rows written now (members already planned are not counted)
    capped: int = 0  # marketing pushes held back by the frequency cap
    dry_run: bool = False
    by_channel: Counter = field(default_factory=Counter)  # channel → rows planned on it


_counting: ContextVar[Counter | None] = ContextVar("push_channel_counts", default=None)


@contextmanager
def counting_channels():
    """Within: every row `fan_out` plans (not held back) is counted by its channel in the
    yielded Counter (PlanResult.by_channel)."""
    counts: Counter = Counter()
    token = _counting.set(counts)
    try:
        yield counts
    finally:
        _counting.reset(token)


def member_values(cfg: Config, row: Any) -> dict[str, Any]:
    return {"programme": cfg.programme_name, "card_no": row.card_no or "",
            "tier": tier_name(row.tier), "points": row.points_balance}


Occasion = str | Callable[[Any], str]  # one for all, or each row's own (an order's)
# (session, member id, occasion, now) → values
Perk = Callable[[Session, int, str, datetime], dict[str, Any]]


def fan_out(uow: UnitOfWork, push: PushKind, occasion: Occasion, query: Select, cfg: Config,
            now: datetime, extra: Callable[[Any], dict[str, Any]] = lambda row: {},
            batch: int = BATCH, keyset: tuple[Any, str] = (Member.id, "id"),
            perk: Perk | None = None) -> tuple[int, int]:
    """Use case, in batches: write a delivery row per row of `query` (which selects
    Member.id first), one transaction per batch (`platform.keyset`), so a million members
    never make one giant transaction. `keyset`: the unique, ordered column the batches
    page on and its name in a row (an order's id when a member may appear once per order).
    `perk`: called, in the batch's transaction, only for members actually planned (not
    held back by the cap), e.g. to issue a coupon; its values join the message's. Returns
    (rows planned, members capped)."""
    gathering = reach.forecasting()
    if gathering is not None:  # a forecast: count, write nothing
        with uow.read() as session:
            reach.add_forecast(session, gathering, push, query, now, cfg.tz)
        return 0, 0
    planned = capped = 0
    column, name = keyset
    for session, rows in batches(uow.write, query, column, key=name, size=batch):
        ids = list({r.id for r in rows})
        full = (reach.mass_full(session, [r.id for r in rows if r.channel == "mass"], now,
                                cfg.tz) if "mass" in push.channels else set())
        held = capped_members(session, ids, now) if push.marketing else set()
        out = []
        for row in rows:
            if row.channel == "mass" and row.id in full:
                continue  # this month's mass sends used up, and mass is the last channel
            key = occasion(row) if callable(occasion) else occasion
            values = {**member_values(cfg, row), **extra(row)}
            if perk is not None and row.id not in held:
                values.update(perk(session, row.id, key, now))
            out.append(delivery_row(push, row.id, row.openid, key, values, cfg, now,
                                    skipped="frequency cap" if row.id in held else None,
                                    channel=row.channel))
            if row.id in held:
                capped += 1
            else:
                planned += 1
                counting = _counting.get()
                if counting is not None:
                    counting[row.channel] += 1
        insert_ignoring_duplicates(session, out)
    return planned, capped


def plan_member(session: Session, push: PushKind, member_id: int, occasion: str,
                values: dict[str, Any], cfg: Config, now: datetime) -> bool:
    """Inside the caller's transaction (an event's use case, e.g. an order shipped): one
    member's delivery row, if the channel can reach them. Returns whether they are reachable
    (a row for the occasion now exists)."""
    row = session.execute(audience(push, now).where(Member.id == member_id)).first()
    if row is None or (row.channel == "mass" and reach.mass_full(session, [member_id], now,
                                                                 cfg.tz)):
        return False
    held = capped_members(session, [member_id], now) if push.marketing else set()
    insert_ignoring_duplicates(session, [delivery_row(push, row.id, row.openid, occasion,
                                              {**member_values(cfg, row), **values}, cfg, now,
                                              skipped="frequency cap" if held else None,
                                              channel=row.channel)])
    return True


def delivery_row(push: PushKind, member_id: int | None, openid: str, occasion: str,
         values: dict[str, Any], cfg: Config, now: datetime, skipped: str | None = None,
         dry_run: bool = False, channel: str | None = None) -> dict[str, Any]:
    channel = channel or (push.channels[0] if push.channels else push.channel)
    return {"member_id": member_id, "openid": openid, "kind": push.kind, "occasion": occasion,
            "channel": channel, "marketing": push.marketing, "urgent": push.urgent,
            "dry_run": dry_run, "payload": push.render(values, cfg.mini_appid, channel),
            "status": "skipped" if skipped else "queued", "error": skipped, "attempts": 0,
            "next_attempt_at": now, "created_at": now, "finished_at": now if skipped else None}


