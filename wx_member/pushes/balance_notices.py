"""Service notices about the member's stored value (储值), planned by catch-up planners that
run every few minutes over recent stored-value ledger rows, each row once (occasion
`sv:<ledger id>`):
- `balance_recharged`: a recharge was credited (its bonus, the balance after it);
- `balance_paid`: a payment from the balance (the order, the balance after it);
- `balance_low`: a payment took the balance below the setting `balance_low_fen` (0: off),
  once per crossing (the balance before it was at or above the threshold).
The balance "after" is the ledger's running sum up to the row, not today's balance, so a
notice planned late still tells what that row left.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, func, literal, select
from sqlalchemy.orm import aliased

from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.models import Delivery, Member, StoredValueLedger
from wx_member.platform import settings
from wx_member.pushes.definitions import PushKind
from wx_member.pushes.fanout import PlanResult, audience, fan_out

SV = StoredValueLedger


def _after():
    """SQL: the member's balance right after the ledger row (running sum up to it)."""
    earlier = aliased(StoredValueLedger)
    return (select(func.coalesce(func.sum(earlier.delta_fen), 0))
            .where(earlier.member_id == SV.member_id, earlier.id <= SV.id).scalar_subquery())


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _rows(push: PushKind, now: datetime, reason: str, *where):
    occasion = literal("sv:") + cast(SV.id, String)
    since = now - timedelta(hours=int(push.options.get("catch_up_hours", 24)))
    return (audience(push, now).add_columns(SV.id.label("ledger_id"), SV.delta_fen,
                                            SV.order_no, _after().label("after"))
            .join(SV, SV.member_id == Member.id)
            .where(SV.reason == reason, SV.created_at >= since, SV.created_at <= now, *where,
                   ~exists().where(Delivery.member_id == Member.id,
                                   Delivery.kind == push.kind, Delivery.occasion == occasion)))


def plan_balance_recharged(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                           pushes: Mapping[str, PushKind]) -> PlanResult:
    """Recharges credited within `catch_up_hours` (principal rows; the bonus row of the
    same order, posted in the same transaction, is counted in `after` and named)."""
    bonus = aliased(StoredValueLedger)
    bonus_fen = (select(func.coalesce(func.sum(bonus.delta_fen), 0))
                 .where(bonus.member_id == SV.member_id, bonus.order_no == SV.order_no,
                        bonus.reason == "recharge_bonus").scalar_subquery())
    q = _rows(push, now, "recharge").add_columns(bonus_fen.label("bonus"))
    planned, capped = fan_out(
        uow, push, lambda row: f"sv:{row.ledger_id}", q, cfg, now,
        extra=lambda row: {"amount": _yuan(row.delta_fen), "bonus": _yuan(int(row.bonus)),
                           "balance": _yuan(int(row.after) + int(row.bonus))},
        keyset=(SV.id, "ledger_id"))
    return PlanResult(push.kind, ["recharges credited"], planned, capped)


def plan_balance_paid(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                      pushes: Mapping[str, PushKind]) -> PlanResult:
    """Payments from the balance within `catch_up_hours`."""
    q = _rows(push, now, "pay")
    planned, capped = fan_out(
        uow, push, lambda row: f"sv:{row.ledger_id}", q, cfg, now,
        extra=lambda row: {"amount": _yuan(-row.delta_fen), "order_no": row.order_no or "",
                           "balance": _yuan(int(row.after))},
        keyset=(SV.id, "ledger_id"))
    return PlanResult(push.kind, ["balance payments"], planned, capped)


def plan_balance_low(uow: UnitOfWork, push: PushKind, cfg: Config, now: datetime,
                     pushes: Mapping[str, PushKind]) -> PlanResult:
    """Payments from the balance that took it from at or above `balance_low_fen` to below."""
    with uow.read() as session:
        threshold = settings.get(session, "balance_low_fen")
    if threshold <= 0:
        return PlanResult(push.kind, [])
    after = _after()
    q = _rows(push, now, "pay", after < threshold, after - SV.delta_fen >= threshold)
    planned, capped = fan_out(
        uow, push, lambda row: f"sv:{row.ledger_id}", q, cfg, now,
        extra=lambda row: {"balance": _yuan(int(row.after)), "threshold": _yuan(threshold)},
        keyset=(SV.id, "ledger_id"))
    return PlanResult(push.kind, [f"below {threshold} fen"], planned, capped)


PLANNERS = {
    "balance_recharged": plan_balance_recharged,
    "balance_paid": plan_balance_paid,
    "balance_low": plan_balance_low,
}
