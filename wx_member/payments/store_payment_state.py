"""A 到店买单 payment's row (`store_payment`, payments/store_payments.py) as the member sees
it, and what happens to it when its WeChat Pay order ends unpaid.

`ended` is called by `wxpay_orders.settle` inside the transaction that marks the order
closed or failed (the member cancelled, the reconciliation closed it after OPEN_FOR,
WeChat Pay refused the prepay), which holds the member's row: the coupon and the points
taken under the order's number come back there and then (payments/takes.py), once
(`returned_at`; and the ledger keys are the number's).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.models import Member, Store, StorePayment
from wx_member.payments import takes

log = logging.getLogger(__name__)


def row_of(session: Session, no: str, lock: bool = False) -> StorePayment | None:
    stmt = select(StorePayment).where(StorePayment.out_trade_no == no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def ended(session: Session, member: Member, no: str, status: str, now: datetime) -> None:
    """WeChat Pay order `no` of a store payment ended `status` (closed | failed) unpaid:
    the payment says so and gives back what it took, once."""
    row = row_of(session, no, lock=True)
    if row is None or row.status == "paid":
        return
    row.status = status
    if row.returned_at is not None:
        return
    cash_off, coupons = takes.taken_off(session, no)
    points_back = takes.give_back(session, member, no, cash_off, coupons,
                                  f"store payment {status}", now)
    row.returned_at = now
    log.info("store payment %s %s: %d points and %d coupon(s) given back to member %s", no,
             status, points_back, len(coupons), member.id)


def render(row: StorePayment, store: Store) -> dict:
    """PAYMENT of the contract (docs/api.md, 到店买单)."""
    return {
        "out_trade_no": row.out_trade_no,
        "store": {"code": store.code, "name": store.name},
        "amount_fen": row.amount_fen,
        "undiscounted_fen": row.undiscounted_fen,
        "benefit_fen": row.amount_fen - row.member_fen,
        "coupon_saving_fen": row.coupon_saving_fen,
        "points_used": {"points": row.points_used, "fen": row.points_fen},
        "payable_fen": row.payable_fen,
        "pay_with": row.pay_with,
        "status": row.status,
        "status_zh": labels.PREPAY_STATUS.get(row.status, row.status),
        "points_earned": row.points_earned if row.status == "paid" else None,
        "balance_fen": row.balance_after_fen if row.status == "paid" else None,
        "created_at": row.created_at,
        "paid_at": row.paid_at,
    }
