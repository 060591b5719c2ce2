"""What a sale that was never paid took, given back: the points of its cash-off
(`redemption.restore_cash_off`: with the expiry they had, ledger key
`cashoff-cancel:<order_no>`) and every coupon used on it (`returns.give_back`: event
`cancel`, key `cancel:<coupon>:<order_no>`). Rule functions inside the caller's
transaction, which holds the member's row: a till's cancelled sale
(payments/sale_cancel.py) and a mini-program payment whose WeChat Pay order closed or
failed (payments/store_payments.py) share them, so both give back the same way, once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.coupons import returns
from wx_member.loyalty import redemption
from wx_member.models import Coupon, Member, PointsRedemption


def taken_off(session: Session, order_no: str) -> tuple[PointsRedemption | None, list[Coupon]]:
    """The cash-off not yet given back and the coupons still used on `order_no`, locked."""
    cash_off = session.scalar(
        select(PointsRedemption).where(PointsRedemption.idem_key == f"cashoff:{order_no}",
                                       PointsRedemption.cancelled_at.is_(None))
        .with_for_update().execution_options(populate_existing=True))
    coupons = list(session.scalars(
        select(Coupon).where(Coupon.order_no == order_no).order_by(Coupon.id)
        .with_for_update().execution_options(populate_existing=True)))
    return cash_off, [c for c in coupons if c.status == "used"]


def give_back(session: Session, member: Member, order_no: str,
              cash_off: PointsRedemption | None, coupons: list[Coupon], reason: str,
              now: datetime) -> int:
    """Give back `taken_off`'s cash-off and coupons; the points given back."""
    points_back = 0
    if cash_off is not None:
        redemption.restore_cash_off(session, member, cash_off, reason, now)
        points_back = cash_off.points
    for coupon in coupons:
        returns.give_back(session, coupon, "cancel", f"cancel:{coupon.id}:{order_no}", now)
    return points_back
