"""Read helpers for the payment tests: orders, refunds and tier history after the app acted."""
from __future__ import annotations

from sqlalchemy import select

from helpers import balance_and_sum, count, ledger, member
from wx_member.models import Order, PointsLedger, Refund, TierHistory

__all__ = ["balance_and_sum", "count", "ledger", "member", "order", "refunds", "tier_history",
           "nothing_paid", "ledger_rows"]


def order(live, out_trade_no: str) -> Order | None:
    with live.session() as s, s.read():
        return s.scalar(select(Order).where(Order.out_trade_no == out_trade_no))


def refunds(live, out_trade_no: str) -> list[Refund]:
    with live.session() as s, s.read():
        return list(s.scalars(select(Refund).join(Order, Refund.order_id == Order.id)
                              .where(Order.out_trade_no == out_trade_no).order_by(Refund.id)))


def tier_history(live, openid: str) -> list[tuple[str, str, str, str]]:
    m = member(live, openid)
    with live.session() as s, s.read():
        return [(h.from_tier, h.to_tier, h.reason, h.cause) for h in s.scalars(
            select(TierHistory).where(TierHistory.member_id == m.id).order_by(TierHistory.id))]


def ledger_rows(live, openid: str) -> list[tuple[int, str, str]]:
    return [(r.delta, r.reason, r.idem_key) for r in ledger(live, openid)]


def nothing_paid(live) -> bool:
    """No order, refund, purchase/refund ledger entry or tier change was written."""
    with live.session() as s, s.read():
        paid_entries = s.scalars(select(PointsLedger.id).where(
            PointsLedger.reason.in_(["purchase", "refund"]))).all()
    return (count(live, Order), count(live, Refund), count(live, TierHistory),
            len(paid_entries)) == (0, 0, 0, 0)
