"""Coupons given back when the order they were redeemed on is fully refunded, or the sale
is cancelled before it was paid (`give_back`, payments/sale_cancel.py: reason `cancel`).

The rule: a **full** refund (the order's refunded amount reaches its total) returns every
coupon used on that order (`coupon.order_no`): to `available` when the refund comes before
the coupon's `valid_until`, else to `expired` (the redemption is undone either way, and an
expired coupon is not revived). A **partial** refund keeps the coupon used: the purchase it
discounted still stands. Each return is a `coupon_event` (reason `refund`, key
`return:<coupon>:<out_refund_no>`), written in the refund's transaction
(payments/order_refunds.py `apply_refund`, which holds member and order), so a replayed
refund returns nothing twice.
A returned coupon can be used again on another order, not on the refunded one.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wx_member.models import Coupon, Order
from wx_member.coupons.wallet import _event

log = logging.getLogger(__name__)


def after_full_refund(session: Session, order: Order, out_refund_no: str,
                      now: datetime) -> list[Coupon]:
    """Give back the coupons redeemed on `order` (just fully refunded by `out_refund_no`),
    inside the refund's transaction. Returns them, with their new status."""
    # By the order alone, then the used ones: with `status = 'used'` in the query SQLite
    # chose the status index and read every used coupon of the programme, where the order
    # number finds its few coupons (tests/test_sparse_indexes.py checks the plan).
    on_order = session.scalars(
        select(Coupon).where(Coupon.order_no == order.out_trade_no)
        .order_by(Coupon.id).with_for_update().execution_options(populate_existing=True))
    used = [coupon for coupon in on_order if coupon.status == "used"]
    for coupon in used:
        give_back(session, coupon, "refund", f"return:{coupon.id}:{out_refund_no}", now)
    return used


def give_back(session: Session, coupon: Coupon, reason: str, key: str, now: datetime) -> None:
    """One used coupon (locked by the caller) back to its member, with event `reason` under
    `key`: to `available` before its `valid_until` (unused again: the order, discount and
    use time cleared), else to `expired` (its use stays on record). The event keeps the
    order and the discount either way. A full refund's return and a cancelled sale's
    (payments/sale_cancel.py)."""
    to = "available" if now < coupon.valid_until else "expired"
    values = dict(status=to, used_at=None, order_no=None, order_fen=None,
                  discount_fen=None) if to == "available" else dict(status=to)
    order_no = coupon.order_no
    _event(session, coupon, to, reason, key, now, from_status="used", order_no=order_no,
           discount_fen=coupon.discount_fen)
    session.execute(update(Coupon).where(Coupon.id == coupon.id, Coupon.status == "used")
                    .values(**values).execution_options(synchronize_session=False))
    session.refresh(coupon)
    log.info("coupon %s of order %s given back (%s): %s", coupon.code, order_no, reason, to)
