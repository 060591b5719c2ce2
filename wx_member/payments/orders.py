"""Purchases, whatever pays them (WeChat Pay notifies here, the stored-value balance in
payments/balance_payments.py, a till in payments/till_orders.py, all through
`credit_purchase`): credit each payment once, keep tiers in step with qualifying spend
(loyalty/tiers.py), apply the day's earn rule (loyalty/earn_rules.py) and the referrer's
share (members/referrals.py). Their refunds are payments/order_refunds.py, which finds
orders and moves the spend through the helpers here.

WeChat Pay repeats a notify until it is acknowledged (up to 15 times over 24 h) and two
workers may receive the same retry at once. A payment is credited in the transaction that
inserts its order row (`out_trade_no` unique), with the ledger key `order:<out_trade_no>`.
Each use case first
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
from wx_member.db import UnitOfWork, retrying
from wx_member.clock import local_day, utcnow
from wx_member.models import Member, Order
from wx_member.loyalty import earn_rules
from wx_member.members import membership
from wx_member.loyalty import points
from wx_member.members import referrals
from wx_member.loyalty import tiers
from wx_member.payments import wechat_parts
from wx_member.payments.order_errors import OrderMismatch
from wx_member.platform import events
from wx_member.platform.ledger import lock_member
from wx_member.row_writes import insert_row, loaded
from wx_member.wechat.pay import PaymentNotice

log = logging.getLogger(__name__)
BALANCE = "bal"  # `pay_order.api` of an order paid from the stored-value balance


@dataclass
class PaymentResult:
    order: Order
    credited: bool  # False: a replay of a recorded payment, nothing changed
    points: int  # earned by this payment
    new_tier: str | None


_M = Member.__table__
_SPEND = (update(_M).where(_M.c.id == bindparam("member"))
          .values(total_spend_fen=_M.c.total_spend_fen + bindparam("delta")))


def move_spend(session: Session, member: Member, delta_fen: int) -> None:
    """Add `delta_fen` to the member's spend. The caller's transaction holds the member's
    row (lock_member re-read it), so what it holds plus the delta is what the UPDATE wrote:
    no read back."""
    statements.run(session, _SPEND, {"member": member.id, "delta": delta_fen})
    set_committed_value(member, "total_spend_fen", member.total_spend_fen + delta_fen)


def order_by_no(session: Session, out_trade_no: str, lock: bool = False) -> Order | None:
    stmt = select(Order).where(Order.out_trade_no == out_trade_no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


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
        existing = order_by_no(session, notice.out_trade_no)
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
            return _replayed_payment(order_by_no(session, notice.out_trade_no), notice)
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
    move_spend(session, member, amount_fen)
    new_tier = tiers.after_payment(session, member, order, f"order:{order_no}", tz, now=now)
    return PaymentResult(order, credited=True, points=earned, new_tier=new_tier)
