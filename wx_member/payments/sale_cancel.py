"""A sale the till gave up on: the customer walked away, or the cashier voided the sale
before it was paid. What `/till/v1/cash-off` and `/till/v1/coupons/redeem` took off that
sale's number comes back, once (payments/takes.py: the cash-off's points with the expiry
they had, every coupon used on it), in one transaction that first locks the member. The
cancel is a till request (`till_request`, key `cancel:<order_no>`): asking again changes
nothing and answers the first answer (`replayed`), whatever the reason given.

Only the store whose till took them may cancel them (`store_id` on the cash-off and on the
coupon's `redeem` event); points or coupons taken elsewhere (another store, the CLI, the
deprecated /api/cashier) are refused whole. A sale recorded as paid (`/till/v1/orders`
under that number, or a WeChat Pay order of that number) is refused: it is refunded, not
cancelled. Neither the points nor the coupons can be used on that sale's number again.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, retrying
from wx_member.loyalty import redemption
from wx_member.models import Coupon, CouponEvent, Member, Order, PointsRedemption, TillRequest
from wx_member.payments import takes
from wx_member.payments.till_orders import claim_request, order_key
from wx_member.platform.errors import DomainError
from wx_member.platform.ledger import lock_member


class SaleNotFound(DomainError):
    code = "SALE_NOT_FOUND"
    user_message = "该单号没有待退回的积分或优惠券（未使用过，或已退回）。"


class SaleOfAnotherStore(DomainError):
    code = "SALE_OF_ANOTHER_STORE"
    user_message = "该单号的积分或优惠券不是在本店使用的，本店不能撤销。"


class SaleRecorded(DomainError):
    """Paid and recorded: a refund gives back what it took, not a cancel."""
    code = "SALE_RECORDED"
    user_message = "该单已收款入账，请走退款流程。"


def cancel_sale(uow: UnitOfWork, store_id: int, order_no: str, reason: str,
                now: datetime | None = None) -> dict:
    """Use case: give back what a till of store `store_id` took off sale `order_no`:
    `{order_no, card_no, points_back, points_balance, coupons: [{coupon_code, status}],
    replayed}` (a repeat answers the first answer, `replayed` true). Raises SaleNotFound,
    SaleOfAnotherStore, SaleRecorded or InvalidAmount, changing nothing."""
    order_no, reason = redemption.check_cancel(order_no, reason)
    at = now or utcnow()

    def attempt() -> dict:
        with uow.write() as session:
            return _cancel(session, store_id, order_no, reason, at)
    return retrying(f"cancel sale {order_no}", attempt)


def _cancel(session: Session, store_id: int, order_no: str, reason: str,
            now: datetime) -> dict:
    key = f"cancel:{order_no}"
    first = _first_answer(session, key, store_id)
    if first is not None:
        return first
    member_id = _taker(session, order_no)
    member = lock_member(session, Member.id == member_id)  # first: one lock order
    first = _first_answer(session, key, store_id)  # a twin cancel committed meanwhile
    if first is not None:
        return first
    cash_off, coupons = takes.taken_off(session, order_no)
    if cash_off is None and not coupons:
        raise SaleNotFound(f"nothing left to give back on sale {order_no}")
    stores = ({cash_off.store_id} if cash_off else set()) | {
        session.scalar(select(CouponEvent.store_id)
                       .where(CouponEvent.idem_key == f"redeem:{c.id}:{order_no}"))
        for c in coupons}
    members = ({cash_off.member_id} if cash_off else set()) | {c.member_id for c in coupons}
    if stores != {store_id} or members != {member.id}:
        raise SaleOfAnotherStore(f"sale {order_no}: taken in stores {stores} by members "
                                 f"{members}, cancelled in store {store_id}")
    recorded = session.scalar(select(Order.status).where(
        Order.out_trade_no.in_((order_no, order_key(store_id, order_no))),
        Order.status != "refunded"))
    if recorded is not None:
        raise SaleRecorded(f"sale {order_no} is a recorded order ({recorded})")
    request = claim_request(session, key, store_id, _digest(store_id, order_no), now)
    if request is None:  # unreachable under the member's lock; kept for safety
        return _first_answer(session, key, store_id)
    points_back = takes.give_back(session, member, order_no, cash_off, coupons, reason,
                                  now)
    session.refresh(member)
    answer = {"order_no": order_no, "card_no": member.card_no, "points_back": points_back,
              "points_balance": member.points_balance,
              "coupons": [{"coupon_code": c.code, "status": c.status} for c in coupons]}
    request.answer = answer
    return {**answer, "replayed": False}


def _taker(session: Session, order_no: str) -> int:
    """The member whose points or coupons were taken off sale `order_no` (any one of
    them: the checks under the lock compare them all)."""
    member_id = session.scalar(select(PointsRedemption.member_id).where(
        PointsRedemption.idem_key == f"cashoff:{order_no}"))
    if member_id is None:
        member_id = session.scalar(select(Coupon.member_id)
                                   .where(Coupon.order_no == order_no).limit(1))
    if member_id is None:
        raise SaleNotFound(f"nothing was taken off sale {order_no}")
    return member_id


def _first_answer(session: Session, key: str, store_id: int) -> dict | None:
    done = session.scalar(select(TillRequest).where(TillRequest.idem_key == key))
    if done is None:
        return None
    if done.store_id != store_id:
        raise SaleOfAnotherStore(f"{key} was cancelled by store {done.store_id}")
    return {**done.answer, "replayed": True}


def _digest(store_id: int, order_no: str) -> str:
    return hashlib.sha256(f"cancel:{store_id}:{order_no}".encode()).hexdigest()
