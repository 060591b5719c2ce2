"""What a shop's till does with a member code the customer shows (the mini-program's
dynamic code, scanned at the counter): take points off the order, or redeem one of the
member's coupons on it. The scanned code is the member's consent: a till cannot spend the
points or coupons of someone who is not standing there with their phone (a card number
alone does not do). The rules are `redemption.cash_off`'s and `wallet.redeem`'s; both are
once per order, so a till retrying after a lost answer gets the first answer again (within
the code's lifetime, a minute by default). A code is spent on the order it was first
used on (`member_codes.spent_member`): on another order it is refused (MemberCodeUsed),
so a code seen over the counter cannot be replayed; a refused request spends nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying
from wx_member.models import Member, utcnow
from wx_member.coupons import wallet
from wx_member.members import member_codes
from wx_member.loyalty import redemption


@dataclass(frozen=True)
class CashOff:
    card_no: str
    order_no: str
    order_amount_fen: int
    points: int  # taken from the balance
    fen_off: int
    points_balance: int  # after
    replayed: bool


@dataclass(frozen=True)
class CouponUse:
    card_no: str
    coupon_code: str
    text: str
    order_no: str
    discount_fen: int
    item: str | None  # an item coupon: what to hand over
    replayed: bool


def _scanned(session: Session, key: str, member_code: str, now: datetime | None) -> Member:
    """Who the code names, without spending it (the till identifying the customer)."""
    return member_codes.scanned_member(session, key, member_code,
                                       now.timestamp() if now else None)


def _spent(session: Session, key: str, member_code: str, order_no: str,
           now: datetime | None) -> Member:
    return member_codes.spent_member(session, key, member_code, order_no,
                                     now.timestamp() if now else None)


def cash_off(uow: UnitOfWork, key: str, member_code: str, order_no: str, amount_fen: int,
             want_points: int | None = None, now: datetime | None = None) -> CashOff:
    """Use case: pay part of order `order_no` with the points of the member whose code was
    scanned, in one transaction. Raises MemberCodeInvalid/Expired, UnknownMember,
    InsufficientPoints, CashOffNotAllowed, RedemptionConflict or InvalidAmount, changing
    nothing; MemberCodeUsed when the code was spent on another order."""
    at = now or utcnow()

    def attempt() -> CashOff:
        with uow.write() as session:
            no = redemption.check_cash_off(order_no, amount_fen, want_points)
            member = _spent(session, key, member_code, no, now)
            done = redemption.cash_off_in(session, member, no, amount_fen, want_points, at)
            row = done.redemption
            return CashOff(member.card_no, row.order_no, row.order_amount_fen, row.points,
                           row.fen_off, member.points_balance, done.replayed)
    return retrying(f"cash off {order_no}", attempt)


def redeem_coupon(uow: UnitOfWork, key: str, member_code: str, coupon_code: str,
                  order_no: str, amount_fen: int, now: datetime | None = None) -> CouponUse:
    """Use case: use one of the scanned member's coupons on order `order_no`, in one
    transaction. Another member's coupon is refused (CouponNotYours), as is any coupon
    `wallet.redeem` refuses."""
    with uow.write() as session:
        wallet.check_redeem(order_no, amount_fen)
        member = _spent(session, key, member_code, order_no, now)
        done = wallet.redeem_in(session, coupon_code, member.card_no, order_no, amount_fen,
                                now or utcnow())
        text = wallet.describe(session, done.coupon)
    return CouponUse(member.card_no, done.coupon.code, text, order_no, done.discount_fen,
                     done.item, done.replayed)
