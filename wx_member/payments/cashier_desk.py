"""What a shop's till does with a member at the counter: identify them (`identify`: by the
mini-program's dynamic code, the card number, or a phone number with the card's last four
digits), and with the member code the customer shows (scanned at the counter): take points
off the order, or redeem one of the member's coupons on it. The scanned code is the member's consent: a till cannot spend the
points or coupons of someone who is not standing there with their phone (a card number
alone does not do). The rules are `redemption.cash_off`'s and `redeeming.redeem`'s; both are
once per order, so a till retrying after a lost answer gets the first answer again (within
the code's lifetime, a minute by default). A code is spent on the order it was first
used on (`member_codes.spent_member`): on another order it is refused (MemberCodeUsed),
so a code seen over the counter cannot be replayed; a refused request spends nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying
from wx_member.models import Member, Store, utcnow
from wx_member.coupons import redeeming, wallet
from wx_member.members import member_codes
from wx_member.members.formats import PHONE_RE
from wx_member.members.membership import by_card, is_card_number
from wx_member.loyalty import redemption
from wx_member.platform.errors import DomainError
from wx_member.platform.ledger import lock_member

MEANS = ("code", "card", "phone")


class MemberNotIdentified(DomainError):
    """One answer for every miss (unknown card, unknown phone, wrong last four digits, a
    phone shared by several cards): the till learns nothing about which part was wrong."""
    code = "MEMBER_NOT_IDENTIFIED"
    user_message = "未找到该会员，请核对后重试，或请顾客出示会员码。"


@dataclass(frozen=True)
class Identified:
    id: int
    card_no: str
    tier: str
    points: int
    balance_fen: int
    phone: str | None  # masked: 138****5678
    home_store_code: str | None
    home_store_name: str | None
    means: str  # code | card | phone
    # Only the scanned member code is the member's consent to spend their points,
    # coupons or stored value: a card number or a phone can be read off or overheard.
    can_spend: bool


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
             want_points: int | None = None, now: datetime | None = None,
             store_id: int | None = None) -> CashOff:
    """Use case: pay part of order `order_no` with the points of the member whose code was
    scanned, in one transaction, at a till of store `store_id` (None: no store known). Raises MemberCodeInvalid/Expired, UnknownMember,
    InsufficientPoints, CashOffNotAllowed, RedemptionConflict or InvalidAmount, changing
    nothing; MemberCodeUsed when the code was spent on another order."""
    at = now or utcnow()

    def attempt() -> CashOff:
        with uow.write() as session:
            no = redemption.check_cash_off(order_no, amount_fen, want_points)
            member = _spent(session, key, member_code, no, now)
            done = redemption.cash_off_in(session, member, no, amount_fen, want_points, at,
                                          store_id)
            row = done.redemption
            return CashOff(member.card_no, row.order_no, row.order_amount_fen, row.points,
                           row.fen_off, member.points_balance, done.replayed)
    return retrying(f"cash off {order_no}", attempt)


def redeem_coupon(uow: UnitOfWork, key: str, member_code: str, coupon_code: str,
                  order_no: str, amount_fen: int, now: datetime | None = None,
                  store_id: int | None = None) -> CouponUse:
    """Use case: use one of the scanned member's coupons on order `order_no` in store
    `store_id` (None: no store known), in one transaction. Another member's coupon is
    refused (CouponNotYours), as is any coupon `redeeming.redeem` refuses (one limited to
    other stores: CouponWrongStore)."""
    with uow.write() as session:
        redeeming.check_redeem(order_no, amount_fen)
        member = _spent(session, key, member_code, order_no, now)
        done = redeeming.redeem_in(session, coupon_code, member.card_no, order_no, amount_fen,
                                   now or utcnow(), store_id)
        text = wallet.describe(session, done.coupon)
    return CouponUse(member.card_no, done.coupon.code, text, order_no, done.discount_fen,
                     done.item, done.replayed)


def _masked(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def _phones(phone: str) -> set[str]:
    """The ways a mainland number may have been stored: with or without +86."""
    bare = phone[3:] if phone.startswith("+86") else phone
    return {phone, bare, "+86" + bare}


def identify(uow: UnitOfWork, key: str, *, code: str | None = None,
             card_no: str | None = None, phone: str | None = None,
             card_last4: str | None = None, now: datetime | None = None) -> Identified:
    """Use case (a read): the member at the counter, by exactly one means: the scanned
    member code, the card number, or a phone number with the last four digits of the card
    as a second factor. Raises MemberCodeInvalid/Expired for a bad code (the customer
    refreshes it) and MemberNotIdentified for every other miss."""
    given = [m for m, v in (("code", code), ("card", card_no), ("phone", phone)) if v]
    if len(given) != 1 or (phone and not card_last4):
        raise MemberNotIdentified(f"identify needs exactly one means, got {given}")
    with uow.read() as session:
        if code:
            member = _scanned(session, key, code, now)
        elif card_no:
            card_no = card_no.strip()
            member = by_card(session, card_no) if is_card_number(card_no) else None
        else:
            member = _by_phone(session, phone.strip(), card_last4.strip())
        if member is None or member.erased_at is not None or not member.card_no:
            raise MemberNotIdentified(f"no member by {given[0]}")
        store = session.get(Store, member.home_store_id) if member.home_store_id else None
        return Identified(member.id, member.card_no, member.tier, member.points_balance,
                          member.balance_fen, _masked(member.phone),
                          store.code if store else None, store.name if store else None,
                          given[0], given[0] == "code")


def lock_by_card(session: Session, card_no: str) -> Member:
    """The member holding card `card_no`, found and locked by one statement inside the
    caller's (write) transaction: what `identify` by card and then locking the member by id
    would do in two (a till's purchase identified by card). A former number of a merged
    member, a lost card and every miss answer as `identify` does."""
    card_no = card_no.strip()
    if not is_card_number(card_no):
        raise MemberNotIdentified("no member by card")
    member = lock_member(session, Member.card_no == card_no)
    if member is None:  # a former number (merged duplicate), or CardLost
        former = by_card(session, card_no)
        member = lock_member(session, Member.id == former.id) if former else None
    if member is None or member.erased_at is not None or not member.card_no:
        raise MemberNotIdentified("no member by card")
    return member


def _by_phone(session: Session, phone: str, last4: str) -> Member | None:
    if not PHONE_RE.match(phone) or not (len(last4) == 4 and last4.isdigit()):
        return None
    found = list(session.scalars(select(Member).where(
        Member.phone.in_(sorted(_phones(phone))), Member.erased_at.is_(None)).limit(20)))
    matching = [m for m in found if m.card_no and m.card_no[-4:] == last4]
    return matching[0] if len(matching) == 1 else None
