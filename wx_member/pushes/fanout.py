"""The machinery every push planner uses: who a channel can reach, fanning a kind out to
its members in batches (a use case: a transaction per batch), the frequency cap, and one
member's row inside another use case (a rule: the caller's transaction).

Planners (`planners`, `order_planners`) choose the members and the occasion key;
this module writes the delivery rows. Times: `now` is naive UTC; days are local.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, not_, select
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.models import Delivery, Member, MemberReach, SubscribeGrant
from wx_member.pushes.definitions import PushKind
from wx_member.labels import tier_name
from wx_member.platform import settings
from wx_member.pushes.deliveries import WINDOW_48H, insert_ignoring_duplicates
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


# -- the audience -----------------------------------------------------------------------
def audience(push: PushKind, now: datetime) -> Select:
    """Members the kind's channel can reach: following (template, custom), not marked
    unreachable on the channel, inside the 48 h window (custom), holding a grant (subscribe)."""
    # Subscribe messages go to the mini-program's openid (another appid, another openid).
    openid = Member.mini_openid if push.channel == "subscribe" else Member.openid
    q = select(Member.id, openid.label("openid"), Member.card_no, Member.tier,
               Member.points_balance).where(openid.is_not(None))
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


def member_values(cfg: Config, row: Any) -> dict[str, Any]:
    return {"programme": cfg.programme_name, "card_no": row.card_no or "",
            "tier": tier_name(row.tier), "points": row.points_balance}


def capped_members(session: Session, member_ids: list[int], now: datetime) -> set[int]:
    cap = settings.get(session, "marketing_pushes_per_week")
    counted = (select(Delivery.member_id).where(
        Delivery.member_id.in_(member_ids), Delivery.marketing.is_(True),
        Delivery.dry_run.is_(False), Delivery.created_at >= now - timedelta(days=7),
        Delivery.status.not_in(("skipped", "failed")))
        .group_by(Delivery.member_id).having(func.count() >= cap))
    return set(session.scalars(counted))


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
    planned = capped = 0
    column, name = keyset
    for session, rows in batches(uow.write, query, column, key=name, size=batch):
        held = capped_members(session, list({r.id for r in rows}), now) if push.marketing else set()
        out = []
        for row in rows:
            key = occasion(row) if callable(occasion) else occasion
            values = {**member_values(cfg, row), **extra(row)}
            if perk is not None and row.id not in held:
                values.update(perk(session, row.id, key, now))
            out.append(delivery_row(push, row.id, row.openid, key, values, cfg, now,
                            skipped="frequency cap" if row.id in held else None))
        insert_ignoring_duplicates(session, out)
        planned += len(rows) - len(held)
        capped += len(held)
    return planned, capped


def plan_member(session: Session, push: PushKind, member_id: int, occasion: str,
                values: dict[str, Any], cfg: Config, now: datetime) -> bool:
    """Inside the caller's transaction (an event's use case, e.g. an order shipped): one
    member's delivery row, if the channel can reach them. Returns whether they are reachable
    (a row for the occasion now exists)."""
    row = session.execute(audience(push, now).where(Member.id == member_id)).first()
    if row is None:
        return False
    held = capped_members(session, [member_id], now) if push.marketing else set()
    insert_ignoring_duplicates(session, [delivery_row(push, row.id, row.openid, occasion,
                                              {**member_values(cfg, row), **values}, cfg, now,
                                              skipped="frequency cap" if held else None)])
    return True


def delivery_row(push: PushKind, member_id: int | None, openid: str, occasion: str,
         values: dict[str, Any], cfg: Config, now: datetime, skipped: str | None = None,
         dry_run: bool = False) -> dict[str, Any]:
    return {"member_id": member_id, "openid": openid, "kind": push.kind, "occasion": occasion,
            "channel": push.channel, "marketing": push.marketing, "urgent": push.urgent,
            "dry_run": dry_run, "payload": push.render(values, cfg.mini_appid),
            "status": "skipped" if skipped else "queued", "error": skipped, "attempts": 0,
            "next_attempt_at": now, "created_at": now, "finished_at": now if skipped else None}


