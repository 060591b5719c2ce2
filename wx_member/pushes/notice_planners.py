"""Service notices about the member's own account, planned by catch-up planners that run
every few minutes (`every_minutes`) over what happened recently, each cause once (its
occasion is the cause's key):
- `order_thanks`: `delay_minutes` (3) after a paid order, the points it earned and the new
  balance (occasion `order:<no>`);
- `points_changed`: an operator added or removed points (`ledger:<id>`);
- `tier_up`, `tier_down`: a tier change, by a payment, a refund or the review (`tier:<id>`);
- `tier_warning` (降级预警, daily): `days_before` (30) days before a member's yearly tier
  review, when their qualifying spend is below what keeps the tier, with what is missing
  (`review:<date>`; only with the setting tier_review = yearly);
- `paid_renewal` (会员卡续费提醒, daily): `days_before` (7) days before a member's paid tier
  (付费会员) ends, unless renewed meanwhile (`paid:<end date>`).
They live apart from the areas whose facts they read (payments, loyalty), which sit below
pushes and do not plan messages.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, exists, extract, func, literal, select

from wx_member.clock import day_bounds, local_day
from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.loyalty import tiers
from wx_member.models import Delivery, Member, Order, PaidTier, PointsLedger, TierHistory
from wx_member.platform import settings
from wx_member.pushes.definitions import PushKind
from wx_member.pushes.fanout import PlanResult, audience, fan_out


def _not_planned(push: PushKind, occasion) -> Any:
    return ~exists().where(Delivery.member_id == Member.id, Delivery.kind == push.kind,
                           Delivery.occasion == occasion)


def _since(push: PushKind, now: datetime) -> datetime:
    return now - timedelta(hours=int(push.options.get("catch_up_hours", 24)))


def plan_order_thanks(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                      pushes: Mapping[str, PushKind]) -> PlanResult:
    """Orders paid at least `delay_minutes` ago (and within `catch_up_hours`)."""
    until = now - timedelta(minutes=int(push.options.get("delay_minutes", 3)))
    occasion = literal("order:") + Order.out_trade_no
    q = (audience(push, now).add_columns(Order.id.label("order_id"), Order.out_trade_no,
                                         Order.points_earned)
         .join(Order, Order.member_id == Member.id)
         .where(Order.purpose == "purchase", Order.status != "refunded",
                Order.paid_at >= _since(push, now), Order.paid_at <= until,
                _not_planned(push, occasion)))
    planned, capped = fan_out(
        uow, push, lambda row: f"order:{row.out_trade_no}", q, cfg, now,
        extra=lambda row: {"out_trade_no": row.out_trade_no, "earned": row.points_earned},
        keyset=(Order.id, "order_id"))
    return PlanResult(push.kind, [f"paid by {until:%Y-%m-%d %H:%M} UTC"], planned, capped)


def plan_points_changed(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                        pushes: Mapping[str, PushKind]) -> PlanResult:
    """Operators' adjustments (points ledger reason `adjust`) within `catch_up_hours`."""
    q = (audience(push, now).add_columns(PointsLedger.id.label("ledger_id"), PointsLedger.delta,
                                         PointsLedger.source)
         .join(PointsLedger, PointsLedger.member_id == Member.id)
         .where(PointsLedger.reason == "adjust", PointsLedger.created_at >= _since(push, now),
                PointsLedger.created_at <= now,
                _not_planned(push, literal("ledger:") + cast(PointsLedger.id, String))))
    planned, capped = fan_out(
        uow, push, lambda row: f"ledger:{row.ledger_id}", q, cfg, now,
        # The ledger's source is "<operator>: <reason>": the member reads the reason.
        extra=lambda row: {"delta": f"{row.delta:+d}",
                           "reason": (row.source or "").split(": ", 1)[-1] or "积分调整"},
        keyset=(PointsLedger.id, "ledger_id"))
    return PlanResult(push.kind, ["operator adjustments"], planned, capped)


def _plan_tier(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime, up: bool
               ) -> PlanResult:
    ranks = case(*[(TierHistory.to_tier == t, tiers.rank(t)) for t in tiers.LADDER], else_=0)
    was = case(*[(TierHistory.from_tier == t, tiers.rank(t)) for t in tiers.LADDER], else_=0)
    q = (audience(push, now).add_columns(TierHistory.id.label("history_id"),
                                         TierHistory.from_tier, TierHistory.to_tier)
         .join(TierHistory, TierHistory.member_id == Member.id)
         .where(TierHistory.at >= _since(push, now), TierHistory.at <= now,
                ranks > was if up else ranks < was,
                _not_planned(push, literal("tier:") + cast(TierHistory.id, String))))
    planned, capped = fan_out(
        uow, push, lambda row: f"tier:{row.history_id}", q, cfg, now,
        extra=lambda row: {"old_tier": tier_name(row.from_tier),
                           "new_tier": tier_name(row.to_tier)},
        keyset=(TierHistory.id, "history_id"))
    return PlanResult(push.kind, ["tier changes"], planned, capped)


def plan_tier_up(uow, push, cfg, now, pushes) -> PlanResult:
    return _plan_tier(uow, push, cfg, now, up=True)


def plan_tier_down(uow, push, cfg, now, pushes) -> PlanResult:
    return _plan_tier(uow, push, cfg, now, up=False)


def plan_tier_warning(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                      pushes: Mapping[str, PushKind]) -> PlanResult:
    """Members whose yearly review is `days_before` days away (local) and whose qualifying
    spend, as the review would count it now, is below their tier's threshold."""
    with uow.read() as session:
        if settings.get(session, "tier_review") != "yearly":
            return PlanResult(push.kind, [])
        ladder = dict(tiers.thresholds(session))
        since = tiers.window_start(session, now)
    result = PlanResult(push.kind, [])
    for n in push.options.get("days_before", [30]):
        day = local_day(now, cfg.tz) + timedelta(days=int(n))
        spend = (Member.total_spend_fen if since is None else func.coalesce(
            select(func.sum(Order.amount_fen - Order.refunded_fen))
            .where(Order.member_id == Member.id, Order.paid_at >= since,
                   Order.purpose == "purchase").scalar_subquery(), 0))
        keep = case(*[(Member.tier == t, fen) for t, fen in ladder.items()], else_=0)
        days = [day.day] + ([29] if (day.month, day.day) == (2, 28) else [])
        occasion = f"review:{day.isoformat()}"
        q = (audience(push, now).add_columns(spend.label("spend"), keep.label("keep"))
             .where(Member.tier != "normal", Member.tier_since.is_not(None),
                    Member.tier_since < day, extract("month", Member.tier_since) == day.month,
                    extract("day", Member.tier_since).in_(days), spend < keep,
                    _not_planned(push, literal(occasion))))
        result.occasions.append(occasion)
        planned, capped = fan_out(
            uow, push, occasion, q, cfg, now,
            extra=lambda row, day=day: {"review_on": day.isoformat(),
                                        "missing": _yuan(int(row.keep) - int(row.spend))})
        result.planned += planned
        result.capped += capped
    return result


def plan_paid_renewal(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                      pushes: Mapping[str, PushKind]) -> PlanResult:
    """Members whose paid tier ends on the local day `days_before` days away (a renewal
    moves the end, so a renewed member is not reminded)."""
    result = PlanResult(push.kind, [])
    for n in push.options.get("days_before", [7]):
        day = local_day(now, cfg.tz) + timedelta(days=int(n))
        start, end = day_bounds(day, cfg.tz)
        occasion = f"paid:{day.isoformat()}"
        q = (audience(push, now).add_columns(PaidTier.tier.label("paid_tier"))
             .join(PaidTier, PaidTier.member_id == Member.id)
             .where(PaidTier.ends_at >= start, PaidTier.ends_at < end,
                    PaidTier.expired_at.is_(None), _not_planned(push, literal(occasion))))
        result.occasions.append(occasion)
        planned, capped = fan_out(
            uow, push, occasion, q, cfg, now,
            extra=lambda row, day=day: {"paid_tier": tier_name(row.paid_tier),
                                        "ends_on": day.isoformat()})
        result.planned += planned
        result.capped += capped
    return result


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}".rstrip("0").rstrip(".")


PLANNERS = {
    "order_thanks": plan_order_thanks,
    "points_changed": plan_points_changed,
    "tier_up": plan_tier_up,
    "tier_down": plan_tier_down,
    "tier_warning": plan_tier_warning,
    "paid_renewal": plan_paid_renewal,
}
