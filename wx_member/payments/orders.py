"""Purchases and their refunds, whatever pays them (WeChat Pay notifies here, the
stored-value balance in payments/balance_payments.py, both through `credit_purchase` and
`apply_refund`): credit each payment once, reverse points proportionally on refund, give
back the coupons of a fully refunded order, keep tiers in step with qualifying spend
(loyalty/tiers.py), apply the day's earn rule (loyalty/earn_rules.py) and the referrer's
share (members/referrals.py).

WeChat Pay repeats a notify until it is acknowledged (up to 15 times over 24 h) and two
workers may receive the same retry at once. A payment is credited in the transaction that
inserts its order row (`out_trade_no` unique), with the ledger key `order:<out_trade_no>`;
a refund likewise by `out_refund_no` and `refund:<out_refund_no>`. Each use case first
locks the payer's member row (SELECT ... FOR UPDATE on MariaDB; SQLite's BEGIN IMMEDIATE
already serializes writers), so notifies for one member queue instead of deadlocking, and a
tier decision sees the spend of every payment before it.

A payer who is not a member is normal (a walk-in customer): their order is recorded without
a member and earns nothing; they are not credited retroactively when they join.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wx_member import statements
from wx_member.db import UnitOfWork, insert_row, loaded, retrying, savepoint
from wx_member.clock import local_day, utcnow
from wx_member.models import Member, Order, Refund
from wx_member.coupons import returns
from wx_member.loyalty import earn_rules
from wx_member.members import membership
from wx_member.loyalty import points
from wx_member.members import referrals
from wx_member.loyalty import tiers
from wx_member.payments import stored_value, wechat_parts
from wx_member.payments.order_errors import OrderMismatch, UnknownOrder
from wx_member.platform import events
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay import PaymentNotice, RefundNotice

log = logging.getLogger(__name__)
BALANCE = "bal"  # `pay_order.api` of an order paid from the stored-value balance


@dataclass
class PaymentResult:
    order: Order
    credited: bool  # False: a replay of a recorded payment, nothing changed
    points: int  # earned by this payment
    new_tier: str | None


@dataclass
class RefundResult:
    refund: Refund
    credited: bool  # False: a replay
    new_tier: str | None


def _order(session: Session, out_trade_no: str, lock: bool = False) -> Order | None:
    stmt = select(Order).where(Order.out_trade_no == out_trade_no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


_M = Member.__table__
_SPEND = (update(_M).where(_M.c.id == bindparam("member"))
          .values(total_spend_fen=_M.c.total_spend_fen + bindparam("delta")))


def _move_spend(session: Session, member: Member, delta_fen: int) -> None:
    """Add `delta_fen` to the member's spend. The caller's transaction holds the member's
    row (lock_member re-read it), so what it holds plus the delta is what the UPDATE wrote:
    no read back."""
    statements.run(session, _SPEND, {"member": member.id, "delta": delta_fen})
    set_committed_value(member, "total_spend_fen", member.total_spend_fen + delta_fen)


def order_by_no(session: Session, out_trade_no: str) -> Order | None:
    return _order(session, out_trade_no)


def orders_of(session: Session, member_id: int, limit: int = 50) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.member_id == member_id)
                                .order_by(Order.id.desc()).limit(limit)))


# ---- payments ----------------------------------------------------------------------------

def record_payment(uow: UnitOfWork, notice: PaymentNotice, now: datetime | None = None, *,
                   tz: ZoneInfo) -> PaymentResult | None:
    """Use case: a verified payment notify. Records the order and credits its points once,
    multiplied by the earn rule of the payment's local day in `tz` (the programme's zone).

    Returns None for a notify of a failed payment (nothing to record). Raises OrderMismatch,
    with nothing written, when `out_trade_no` is known with another amount or payer."""
    if not notice.success:
        log.info("payment %s not successful; nothing recorded", notice.out_trade_no)
        return None
    now = now or utcnow()
    return retrying(f"order {notice.out_trade_no}",
                    lambda: _record_payment(uow, notice, now, tz))


def _replayed_payment(existing: Order | None, notice: PaymentNotice) -> PaymentResult:
    if existing is None:  # the unique key that refused us was transaction_id
        raise OrderMismatch(f"transaction {notice.transaction_id} belongs to another order")
    if existing.api == BALANCE:
        raise OrderMismatch(f"order {notice.out_trade_no} was paid from the stored-value "
                            f"balance; WeChat Pay says it was paid again")
    if existing.amount_fen != notice.amount_fen or existing.openid != notice.openid:
        raise OrderMismatch(f"order {notice.out_trade_no} was recorded as {existing.amount_fen} "
                            f"fen from {existing.openid}, notify says {notice.amount_fen} fen "
                            f"from {notice.openid}")
    log.info("payment %s already recorded; replay ignored", notice.out_trade_no)
    return PaymentResult(existing, credited=False, points=0, new_tier=None)


def _record_payment(uow: UnitOfWork, notice: PaymentNotice, now: datetime,
                    tz: ZoneInfo) -> PaymentResult:
    for _ in range(2):  # again once when a till claimed the transaction meanwhile
        try:
            return _record_payment_once(uow, notice, now, tz)
        except wechat_parts.ClaimedMeanwhile:
            continue
    raise AssertionError("unreachable: a claim, once committed, is seen on the next try")


def _record_payment_once(uow: UnitOfWork, notice: PaymentNotice, now: datetime,
                         tz: ZoneInfo) -> PaymentResult:
    with uow.write() as session:
        member = lock_member(session, membership.paid_by(notice.openid))
        existing = _order(session, notice.out_trade_no)
        if existing is not None:
            return _replayed_payment(existing, notice)
        # The transaction was a part of a till's purchase, which credited it first.
        till = wechat_parts.claimed_by(session, notice.out_trade_no, notice.transaction_id)
        if till is not None:
            log.info("payment %s was credited by till order %s; notify acknowledged",
                     notice.out_trade_no, till.out_trade_no)
            return PaymentResult(till, credited=False, points=0, new_tier=None)
        # A payer who is not a member holds no lock: two workers may race for the key.
        result = credit_purchase(session, member, order_no=notice.out_trade_no,
                                 openid=notice.openid, amount_fen=notice.amount_fen,
                                 paid_at=notice.paid_at or now, api=notice.api, tz=tz, now=now,
                                 transaction_id=notice.transaction_id or None)
        if result is None:
            return _replayed_payment(_order(session, notice.out_trade_no), notice)
        wechat_parts.claim(session, result.order, notice.amount_fen, notice.out_trade_no,
                           notice.transaction_id or None)
        return result


def credit_purchase(session: Session, member: Member | None, *, order_no: str, openid: str,
                    amount_fen: int, paid_at: datetime, api: str, tz: ZoneInfo,
                    now: datetime, transaction_id: str | None = None,
                    rule: earn_rules.Multiplier | None = None,
                    store_id: int | None = None,
                    in_wechat: bool = True) -> PaymentResult | None:
    """Record purchase `order_no` and credit it, inside the caller's transaction, which
    holds `member`'s row (None: a walk-in payer, recorded, earning nothing). The one body
    every way of paying shares: a WeChat Pay notify (`api` v2/v3) and the stored-value
    balance (`api` "bal"): a purchase is a purchase, whatever pays it.

    Points at the tier held when paying, times the earn rule of the local day (in `tz`) of
    `paid_at` (or `rule`, the till's day multiplier: payments/pricing.py), under ledger key
    `order:<order_no>` and stamped with the lot expiry of that time; the referrer's share; the spend; the tier move (from the next order on). `store_id`: the store whose till
    recorded it.

    Returns None, with nothing written, when the order number (or WeChat's transaction id)
    is already recorded: the caller tells a replay from a conflict."""
    earned, extra = 0, {}
    if member is not None:
        rule = rule or earn_rules.multiplier_on(session, local_day(paid_at, tz))
        earned = tiers.points_for(session, amount_fen, member.tier, rule.percent)
        extra = {"earn_multiplier": rule.percent, "earn_rule_id": rule.rule_id}
    # One INSERT with what the order earned (a Core statement: a duplicate number fails
    # alone, leaving the transaction and the session as they were, no savepoint needed).
    try:
        row = insert_row(session, Order, out_trade_no=order_no, transaction_id=transaction_id,
                         openid=openid, member_id=member.id if member else None,
                         amount_fen=amount_fen, refunded_fen=0, status="paid", api=api,
                         purpose="purchase", points_earned=earned, points_reversed=0,
                         paid_at=paid_at, created_at=now, store_id=store_id, **extra)
    except IntegrityError:
        return None
    order = loaded(session, Order, row)
    if member is None:
        log.info("order %s paid by %s, who is not a member: recorded, no points", order_no,
                 openid)
        return PaymentResult(order, credited=True, points=0, new_tier=None)
    if api != BALANCE:  # activity; only paying inside WeChat opens the 48-hour window
        events.seen(session, member.id, order.paid_at, window=in_wechat)
    if earned:
        boost = f" x{rule.percent}%" if rule.rule_id else ""
        points.post(session, member, earned, "purchase", f"order:{order_no}",
                    source=f"{api} {order_no}{boost}", now=order.paid_at)
    referrals.reward_order(session, member, order)
    _move_spend(session, member, amount_fen)
    new_tier = tiers.after_payment(session, member, order, f"order:{order_no}", tz, now=now)
    return PaymentResult(order, credited=True, points=earned, new_tier=new_tier)


# ---- refunds -----------------------------------------------------------------------------

def record_refund(uow: UnitOfWork, notice: RefundNotice, now: datetime | None = None, *,
                  tz: ZoneInfo) -> RefundResult | None:
    """Use case: a verified refund notify. Takes back the order's points in proportion to the
    amount refunded so far, once per `out_refund_no` (and the referrer's share of it, in
    `percent` referral mode), and re-evaluates the tier (it may go down).

    Rounding: after each refund the order has given back floor(points_earned × refunded ÷
    amount) in all, so a partial refund rounds in the member's favour and a full refund takes
    back exactly what the order earned. Points already spent are not pushed below zero: the
    reversal takes what is there and the ledger row's source (and `refund.points_shortfall`)
    records the rest.

    Returns None for a refund that did not succeed (CHANGE, REFUNDCLOSE, ABNORMAL...).
    Raises UnknownOrder or OrderMismatch with nothing written."""
    if not notice.success:
        log.info("refund %s of %s not successful; nothing recorded", notice.out_refund_no,
                 notice.out_trade_no)
        return None
    now = now or utcnow()
    return retrying(f"refund {notice.out_refund_no}",
                    lambda: _record_refund(uow, notice, now, tz))


def _replayed_refund(existing: Refund | None, order: Order, notice: RefundNotice) -> RefundResult:
    if (existing is None or existing.order_id != order.id
            or existing.amount_fen != notice.refund_fen):
        raise OrderMismatch(f"refund {notice.out_refund_no} was recorded differently")
    log.info("refund %s already recorded; replay ignored", notice.out_refund_no)
    return RefundResult(existing, credited=False, new_tier=None)


def _record_refund(uow: UnitOfWork, notice: RefundNotice, now: datetime,
                   tz: ZoneInfo) -> RefundResult:
    with uow.write() as session:
        order = _order(session, notice.out_trade_no)
        if order is None:
            raise UnknownOrder(f"refund {notice.out_refund_no} of unknown order "
                               f"{notice.out_trade_no}")
        if order.api == BALANCE:
            raise OrderMismatch(f"refund {notice.out_refund_no}: order {order.out_trade_no} "
                                f"was paid from the stored-value balance, not by WeChat Pay")
        member, order = lock_for_refund(session, order)
        existing = session.scalar(select(Refund).where(
            Refund.out_refund_no == notice.out_refund_no))
        if existing is not None:
            return _replayed_refund(existing, order, notice)
        if notice.order_fen != order.amount_fen:
            raise OrderMismatch(f"refund {notice.out_refund_no}: order {order.out_trade_no} is "
                                f"{order.amount_fen} fen, notify says {notice.order_fen}")
        if order.refunded_fen + notice.refund_fen > order.amount_fen:
            raise OrderMismatch(f"refund {notice.out_refund_no}: {notice.refund_fen} fen more "
                                f"than the {order.amount_fen - order.refunded_fen} left")
        result = apply_refund(session, member, order, out_refund_no=notice.out_refund_no,
                              refund_fen=notice.refund_fen, refund_id=notice.refund_id or None,
                              refunded_at=notice.refunded_at, api=notice.api, tz=tz, now=now)
        if result is None:
            existing = session.scalar(select(Refund).where(
                Refund.out_refund_no == notice.out_refund_no))
            return _replayed_refund(existing, order, notice)
        return result


def refunded_share(order: Order, earned: int) -> int:
    """What `order` has given back in all of `earned` (points, a referrer's share) after its
    refunds so far: floor(earned × refunded ÷ amount), all of it once the order is fully
    refunded (also an order of no money, whose share the money cannot say)."""
    if order.status == "refunded":
        return earned
    return earned * order.refunded_fen // order.amount_fen if order.amount_fen else 0


def lock_for_refund(session: Session, order: Order) -> tuple[Member | None, Order]:
    """Member first, then order: the lock order payments use, so the two cannot deadlock.
    Returns the member (None for a walk-in payer's order) and the order, re-read locked."""
    member = lock_member(session, Member.id == order.member_id) if order.member_id else None
    return member, _order(session, order.out_trade_no, lock=True)


def apply_refund(session: Session, member: Member | None, order: Order, *, out_refund_no: str,
                 refund_fen: int, refund_id: str | None, refunded_at: datetime | None, api: str,
                 tz: ZoneInfo, now: datetime, full: bool | None = None) -> RefundResult | None:
    """Record refund `out_refund_no` of `refund_fen` from `order` and reverse what the order
    gave, inside the caller's transaction, which holds member and order (lock_for_refund)
    and has checked the amount against what is left. Shared by WeChat Pay's refund notifies
    and refunds of balance payments (which return the money to the balance themselves).

    Points: after each refund the order has given back floor(points_earned × refunded ÷
    amount) in all (ledger key `refund:<out_refund_no>`), never below zero; the referrer's
    share likewise; the spend; the tier may go down. A full refund gives back the coupons
    redeemed on the order (coupons/returns.py); a recharge takes back stored value.

    `full` says whether this refund completes the order when its money cannot: an order of
    no money (a till's purchase paid entirely by coupons and points, `amount_fen` 0) is
    refunded with 0 fen, and only the caller knows whether every line went back (None: the
    money decides). Such an order gives back everything it earned on its full refund and
    nothing on a partial one.
    Returns None, with nothing written, when `out_refund_no` is already recorded."""
    refund = Refund(out_refund_no=out_refund_no, refund_id=refund_id, order_id=order.id,
                    amount_fen=refund_fen, points_reversed=0, points_shortfall=0,
                    refunded_at=refunded_at, created_at=now)
    try:
        with savepoint(session):
            session.add(refund)
            session.flush()
    except IntegrityError:
        return None
    order.refunded_fen += refund_fen
    if full is None:
        full = order.refunded_fen == order.amount_fen
    order.status = "refunded" if full else "partially_refunded"
    due = refunded_share(order, order.points_earned) - order.points_reversed
    order.points_reversed += due
    if order.status == "refunded":
        returns.after_full_refund(session, order, out_refund_no, now)
    if member is None:
        return RefundResult(refund, credited=True, new_tier=None)
    if order.purpose == "recharge":  # stored value: no points, no spend, take the balance
        stored_value.reverse_recharge(session, member, order, refund_fen, out_refund_no)
        return RefundResult(refund, credited=True, new_tier=None)
    taken = min(due, member.points_balance)
    refund.points_reversed, refund.points_shortfall = taken, due - taken
    if taken:
        short = f"; shortfall {due - taken}" if due > taken else ""
        points.post(session, member, -taken, "refund", f"refund:{out_refund_no}",
                    source=f"{api} {order.out_trade_no}{short}", now=now)
    if due > taken:
        log.warning("refund %s: member %s had spent %d of the %d points to take back",
                    out_refund_no, member.id, due - taken, due)
    referrals.reverse_for_refund(session, member, order, refund)
    if refund_fen:
        _move_spend(session, member, -refund_fen)
    new_tier = tiers.after_refund(session, member, order, refund_fen,
                                  f"refund:{out_refund_no}", tz, now=now)
    return RefundResult(refund, credited=True, new_tier=new_tier)
