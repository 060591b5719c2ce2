"""Refunds of purchases, whatever paid them: WeChat Pay's refund notifies (`record_refund`)
and the one body every refund shares (`apply_refund`, also used by refunds of balance
payments, of recharges and of a till's purchases): record each refund once, reverse points
proportionally, give back the coupons and the cash-off points of a fully refunded order,
take back the referrer's
share (members/referrals.py) and the spend, and let the tier go down (loyalty/tiers.py).
Recording the purchases themselves is payments/orders.py.

WeChat Pay repeats a notify until it is acknowledged (up to 15 times over 24 h) and two
workers may receive the same retry at once. A refund is credited in the transaction that
inserts its refund row (`out_refund_no` unique), with the ledger key
`refund:<out_refund_no>`. Each use case first locks the payer's member row, then the order
(`lock_for_refund`: the lock order payments use), so notifies for one member queue instead
of deadlocking.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying, savepoint
from wx_member.clock import utcnow
from wx_member.models import Member, Order, PointsRedemption, Refund
from wx_member.coupons import returns
from wx_member.loyalty import points, redemption
from wx_member.members import referrals
from wx_member.loyalty import tiers
from wx_member.payments import stored_value
from wx_member.payments.order_errors import OrderMismatch, UnknownOrder
from wx_member.payments.orders import BALANCE, move_spend, order_by_no
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay import RefundNotice

log = logging.getLogger(__name__)


@dataclass
class RefundResult:
    refund: Refund
    credited: bool  # False: a replay
    new_tier: str | None
    points_restored: int = 0  # the order's cash-off given back by its full refund


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
        order = order_by_no(session, notice.out_trade_no)
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
    return member, order_by_no(session, order.out_trade_no, lock=True)


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
    redeemed on the order (coupons/returns.py) and the points it used as cash off (after
    the points it earned are taken back); a recharge takes back stored value.

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
        move_spend(session, member, -refund_fen)
    new_tier = tiers.after_refund(session, member, order, refund_fen,
                                  f"refund:{out_refund_no}", tz, now=now)
    restored = _cash_off_back(session, member, order, out_refund_no, now) \
        if order.status == "refunded" else 0
    return RefundResult(refund, credited=True, new_tier=new_tier, points_restored=restored)


def _cash_off_back(session: Session, member: Member, order: Order, out_refund_no: str,
                   now: datetime) -> int:
    """The points order's cash-off took, given back on its full refund (once: a cancelled
    cash-off is not given back again); how many."""
    done = session.scalar(select(PointsRedemption).where(
        PointsRedemption.idem_key == f"cashoff:{order.out_trade_no}",
        PointsRedemption.cancelled_at.is_(None)).with_for_update())
    if done is None:
        return 0
    redemption.restore_cash_off(session, member, done, f"full refund {out_refund_no}", now)
    return done.points
