"""Order-driven pushes: delivery reminders, the 120-day after-sale care schedule, win-back.

Kinds and their occasion keys (unique per member and kind, so every planner is idempotent):

- `order_shipped`  `order:<out_trade_no>`: planned when the shop marks the order shipped
  (`fulfilment.mark_shipped`, same transaction); `plan_order_shipped` only catches up on
  orders shipped while the kind was disabled or the member unreachable.
- `order_guide`    `order:<out_trade_no>`: `delay_days` after the local day of delivery.
- `care_followup`  `d<day>:<out_trade_no>` for days 1, 7, 15 after the FIRST order.
- `care_repurchase` `d<day>:<out_trade_no>` for days 30 … 120 after the LATEST order: a
  new order is a new anchor, so the repurchase steps start again from it.
- `winback`        `<last order's local date>+<N×k>d`: every `winback_days` (N) days
  without an order; the periods up to care_repurchase's last step are left to it.

Orders fully refunded count for none of this. Days are local (`config.tz`); a planner run
the scheduler missed is made up for `catch_up_days`; a day's run plans only what is not
planned yet (NOT EXISTS on the occasion), so its counts are what it added.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from wx_member.clock import day_start, days_bounds, local_day
from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.models import Coupon, Delivery, Member, Order
from wx_member.pushes.definitions import PushKind
from wx_member.coupons import templates
from wx_member.coupons import wallet
from wx_member.platform import settings
from wx_member.pushes.fanout import (
    PlanResult,
    PushDisabled,
    audience,
    fan_out,
)

CARE_KIND = "care_repurchase"  # the schedule win-back defers to
# Orders that count as purchases: not fully refunded, not a stored-value recharge.
LIVE = and_(Order.status != "refunded", Order.purpose == "purchase")


def order_occasion(out_trade_no: str) -> str:
    return f"order:{out_trade_no}"


def order_values(row: Any) -> dict[str, Any]:
    """What an order's messages show (row: an Order or a row with these columns)."""
    return {"out_trade_no": row.out_trade_no, "carrier": row.carrier or "",
            "tracking_no": row.tracking_no or ""}


def _not_planned(push: PushKind, occasion) -> Any:
    """No delivery row of this kind for this occasion yet (uses the unique key's index)."""
    return ~exists().where(Delivery.openid == Member.openid, Delivery.kind == push.kind,
                           Delivery.occasion == occasion)


def _local_days(today: date, first: int, last: int, cfg: Config) -> tuple[datetime, datetime]:
    """UTC bounds [start, end) of the local days today-last … today-first."""
    return days_bounds(today - timedelta(days=last), today - timedelta(days=first), cfg.tz)


def _order_rows(push: PushKind, now: datetime) -> Select:
    """The kind's reachable members joined to their orders, one row per order."""
    return (audience(push, now)
            .add_columns(Order.id.label("order_id"), Order.out_trade_no, Order.carrier,
                         Order.tracking_no)
            .join(Order, Order.member_id == Member.id).where(LIVE))


# -- delivery reminders -------------------------------------------------------------------
def plan_order_shipped(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                       pushes: Mapping[str, PushKind]) -> PlanResult:
    """Catch-up: orders shipped in the last `catch_up_hours` without a reminder."""
    since = now - timedelta(hours=int(push.options.get("catch_up_hours", 24)))
    occasion = literal("order:") + Order.out_trade_no
    q = _order_rows(push, now).where(Order.shipped_at >= since, Order.shipped_at <= now,
                                     _not_planned(push, occasion))
    planned, capped = fan_out(uow, push, lambda row: order_occasion(row.out_trade_no), q,
                              cfg, now, extra=order_values, keyset=(Order.id, "order_id"))
    return PlanResult(push.kind, [f"shipped since {since:%Y-%m-%d %H:%M} UTC"], planned, capped)


def plan_order_guide(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                     pushes: Mapping[str, PushKind]) -> PlanResult:
    """The usage guide, `delay_days` (1) after the local day an order was delivered."""
    today = local_day(now, cfg.tz)
    delay = int(push.options.get("delay_days", 1))
    start, end = _local_days(today, delay, delay + int(push.options.get("catch_up_days", 2)),
                             cfg)
    occasion = literal("order:") + Order.out_trade_no
    q = _order_rows(push, now).where(Order.delivered_at >= start, Order.delivered_at < end,
                                     _not_planned(push, occasion))
    planned, capped = fan_out(uow, push, lambda row: order_occasion(row.out_trade_no), q,
                              cfg, now, extra=order_values, keyset=(Order.id, "order_id"))
    return PlanResult(push.kind, [f"delivered {today - timedelta(days=delay)}"], planned,
                      capped)


# -- the after-sale care schedule -----------------------------------------------------------
def _anchor(which: str) -> Any:
    """The condition that makes `Order` the member's first (or latest) live order: no other
    live order of theirs comes before (after) it; ties broken by id."""
    other = aliased(Order)
    if which == "first":
        beats = or_(other.paid_at < Order.paid_at,
                    and_(other.paid_at == Order.paid_at, other.id < Order.id))
    elif which == "latest":
        beats = or_(other.paid_at > Order.paid_at,
                    and_(other.paid_at == Order.paid_at, other.id > Order.id))
    else:
        raise PushDisabled(f"options.anchor must be 'first' or 'latest', got {which!r}")
    return ~exists().where(other.member_id == Order.member_id, other.status != "refunded",
                           other.purpose == "purchase", beats)


def plan_care(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
              pushes: Mapping[str, PushKind]) -> PlanResult:
    """Each step `day` of the kind: members whose anchor order (options.anchor: first or
    latest) was paid on the local day today - day (or up to `catch_up_days` before, for a
    missed run). Steps are at least 6 days apart, so a member gets one step a day at most."""
    today = local_day(now, cfg.tz)
    anchor = _anchor(push.options.get("anchor", "first"))
    catch_up = int(push.options.get("catch_up_days", 2))
    result = PlanResult(push.kind, [])
    for day, values in push.steps.items():
        start, end = _local_days(today, day, day + catch_up, cfg)
        prefix = f"d{day}:"
        q = (audience(push, now).add_columns(Order.out_trade_no)
             .join(Order, Order.member_id == Member.id)
             .where(LIVE, Order.paid_at >= start, Order.paid_at < end, anchor,
                    _not_planned(push, literal(prefix) + Order.out_trade_no)))
        planned, capped = fan_out(
            uow, push, lambda row, prefix=prefix: prefix + row.out_trade_no, q, cfg, now,
            extra=lambda row, values=values: {**values, "out_trade_no": row.out_trade_no})
        result.occasions.append(f"{prefix}{today - timedelta(days=day)}")
        result.planned += planned
        result.capped += capped
    return result


# -- win-back -------------------------------------------------------------------------------
def winback_offer(session: Session, member_id: int, occasion: str,
                  now: datetime) -> dict[str, Any]:
    """The coupon that comes with 好久不见 (setting `winback_coupon_template`, 0: none).

    Called inside the win-back planner's batch transaction, once per member actually planned
    (not for those held back by the frequency cap), so the coupon and the message are
    written together. The cause `winback:<member>:<occasion>` makes a re-run issue nothing
    twice. Returns the coupon in the member's words as `offer` (empty: the message goes
    without one, e.g. no template set or the member's tier is below the template's)."""
    template = wallet.template_by_setting(session, "winback_coupon_template")
    if template is None:
        return {"offer": ""}
    cause = f"winback:{member_id}:{occasion}"
    member = session.get(Member, member_id)
    issued = wallet.issue_in(session, member, template, cause, "winback", now)
    if issued is None and session.scalar(select(Coupon.id).where(Coupon.cause == cause)) is None:
        return {"offer": ""}  # below the template's tier
    return {"offer": templates.describe(template)}


def care_end(pushes: Mapping[str, PushKind]) -> int:
    """The last day the repurchase care schedule covers (0 when it is off)."""
    care = pushes.get(CARE_KIND)
    return max(care.steps) if care and care.steps and not care.disabled else 0


def plan_winback(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                 pushes: Mapping[str, PushKind]) -> PlanResult:
    """Members whose last live order is N×k days old (N = `winback_days`, k ≥ 1) with N×k
    past the care schedule's last step, and no win-back in the last N local days. A missed
    run is made up the next day (the occasion is the period, not the day)."""
    with uow.read() as session:  # a transaction of its own: fan_out opens one per batch
        n = settings.get(session, "winback_days")
    if n <= 0:
        return PlanResult(push.kind, [])  # 0 turns win-back off
    today = local_day(now, cfg.tz)
    first = (care_end(pushes) // n + 1) * n  # the first period the care steps leave to us
    last_paid = (select(func.max(Order.paid_at))
                 .where(Order.member_id == Member.id, LIVE).scalar_subquery())
    q = (audience(push, now).add_columns(last_paid.label("last_paid"))
         .where(last_paid < day_start(today - timedelta(days=first - 1), cfg.tz),
                ~exists().where(Delivery.member_id == Member.id, Delivery.kind == push.kind,
                                Delivery.dry_run.is_(False),
                                Delivery.created_at >= day_start(
                                    today - timedelta(days=n - 1), cfg.tz))))

    def occasion(row: Any) -> str:
        last = local_day(row.last_paid, cfg.tz)
        return f"{last.isoformat()}+{(today - last).days // n * n}d"

    planned, capped = fan_out(uow, push, occasion, q, cfg, now,
                              extra=lambda row: {"offer": ""}, perk=winback_offer)
    return PlanResult(push.kind, [f"no order for {first}+ days (every {n})"], planned, capped)


PLANNERS = {
    "order_shipped": plan_order_shipped,
    "order_guide": plan_order_guide,
    "care_followup": plan_care,
    "care_repurchase": plan_care,
    "winback": plan_winback,
}
