"""Spending points: what every redemption shares, and cash off an order.

Each redemption is one transaction that first locks the member's row (the lock every
debit and the expiry run take), then writes a ledger debit and a `points_redemption` row
under one idempotency key: `cashoff:<order_no>` (an order is paid with points at most
once), `gift:<member>:<request key>` (the gift catalogue's, gift_catalogue.py). Replaying a
key returns the first result and changes nothing. The debit is `... WHERE points_balance
>= n`, so it cannot go below zero under any concurrency; a refused redemption raises a
DomainError whose `user_message` says why, and its transaction is rolled back whole. This
module owns the result (`Redemption`), the conflict refusal, the lock-key-debit steps both
kinds take, and a member's redemptions.

A cash-off whose order is never paid (or is cancelled) can be reversed once
(`cancel_cash_off`, key `cashoff-cancel:<order_no>`): the points come back with the expiry
they had, and the order cannot be paid with points again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying
from wx_member.clock import utcnow
from wx_member.models import JsapiOrder, Member, Order, PointsRedemption
from wx_member.loyalty import points
from wx_member.loyalty import points_expiry
from wx_member.platform import audit, settings
from wx_member.platform.errors import DomainError, InsufficientPoints, InvalidAmount
from wx_member.platform.ledger import lock_member


class RedemptionConflict(DomainError):
    """The idempotency key was used before for something else."""
    code = "REDEMPTION_CONFLICT"
    user_message = "该兑换请求已处理过，内容不一致。"


class CashOffNotAllowed(DomainError):
    code = "CASH_OFF_NOT_ALLOWED"
    user_message = "该订单不能使用积分抵扣。"


class CashOffNotFound(DomainError):
    code = "CASH_OFF_NOT_FOUND"
    user_message = "该订单没有使用积分抵扣。"


class CashOffCancelRefused(DomainError):
    """The order was paid (and not fully refunded): its cash-off stands."""
    code = "CASH_OFF_CANCEL_REFUSED"
    user_message = "订单已支付，积分抵扣不能撤销。"


@dataclass(frozen=True)
class Redemption:
    redemption: PointsRedemption
    replayed: bool  # True: the key was redeemed before; nothing changed now

    @property
    def points(self) -> int:
        return self.redemption.points

    @property
    def fen_off(self) -> int | None:
        return self.redemption.fen_off


def _positive(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidAmount(f"{what} must be a positive integer, got {value!r}")
    return value


def _lock(session: Session, member_id: int) -> Member:
    return lock_member(session, Member.id == member_id)


def _existing(session: Session, key: str) -> PointsRedemption | None:
    return session.scalar(select(PointsRedemption).where(PointsRedemption.idem_key == key))


def _debit(session: Session, member: Member, n: int, reason: str, key: str, source: str,
           now: datetime) -> None:
    if points.post(session, member, -n, reason, key, source=source, now=now) is None:
        # A ledger row without its redemption row: written by hand, never by this module.
        raise RedemptionConflict(f"ledger key {key} exists without a redemption")


# -- cash off an order ------------------------------------------------------------------
def cash_off_quote(session: Session, balance: int, order_amount_fen: int,
                   want_points: int | None = None) -> tuple[int, int]:
    """(points, fen) for paying part of an order with points: at most
    `points_cash_off_max_percent` of the amount, at `points_cash_off_rate` points per yuan,
    with `want_points` (default: the whole balance). Fen are whole: the fen off is rounded
    down and the points it costs rounded up, so the shop never gives more than the rate."""
    rate = settings.get(session, "points_cash_off_rate")
    cap_fen = order_amount_fen * settings.get(session, "points_cash_off_max_percent") // 100
    usable = balance if want_points is None else min(want_points, balance)
    fen = min(cap_fen, usable * 100 // rate)
    return (fen * rate + 99) // 100, fen


def check_cash_off(order_no: str, order_amount_fen: int, want_points: int | None) -> str:
    """The order number a cash-off may use (stripped); raises InvalidAmount."""
    order_no = (order_no or "").strip()
    if not order_no or len(order_no) > 64:
        raise InvalidAmount(f"order number must be 1-64 characters, got {order_no!r}",
                            user_message="订单号无效。")
    _positive(order_amount_fen, "order amount (fen)")
    if want_points is not None:
        _positive(want_points, "points")
    return order_no


def cash_off(uow: UnitOfWork, member: Member, order_no: str, order_amount_fen: int,
             want_points: int | None = None, now: datetime | None = None) -> Redemption:
    """Use case: pay part of order `order_no` (total `order_amount_fen`) with points, once
    per order. Raises InsufficientPoints, CashOffNotAllowed, RedemptionConflict (the order
    was already paid with points by someone else or for another amount) or InvalidAmount,
    changing nothing."""
    order_no = check_cash_off(order_no, order_amount_fen, want_points)
    now = now or utcnow()

    def attempt() -> Redemption:
        with uow.write() as session:
            return cash_off_in(session, member, order_no, order_amount_fen, want_points, now)
    return retrying(f"cash off {order_no}", attempt)


def cash_off_check(session: Session, member: Member, amount_fen: int,
                   want: int | None) -> tuple[int, int]:
    """(points, fen) a cash-off of `want` points (None: as many as may be used) takes off
    an order of `amount_fen` for `member`, or the refusal: InsufficientPoints,
    CashOffNotAllowed. Writes nothing (the till's quote asks it too)."""
    if want is not None and want > member.points_balance:
        raise InsufficientPoints(f"member {member.id} has {member.points_balance}, "
                                 f"wants {want}", user_message=f"积分不足，当前仅有 "
                                 f"{member.points_balance} 积分。")
    used, fen = cash_off_quote(session, member.points_balance, amount_fen, want)
    if fen <= 0:
        if amount_fen * settings.get(session, "points_cash_off_max_percent") // 100 == 0:
            raise CashOffNotAllowed(f"order of {amount_fen} fen: cap leaves nothing to take off")
        rate = settings.get(session, "points_cash_off_rate")
        raise InsufficientPoints(f"member {member.id}: too few points for 1 fen",
                                 user_message=f"积分不足，至少需要 {(rate + 99) // 100} "
                                 f"积分才能抵扣。")
    return used, fen


def cash_off_in(session: Session, member: Member, order_no: str, amount_fen: int,
                want: int | None, now: datetime, store_id: int | None = None) -> Redemption:
    """`cash_off` inside the caller's transaction, its arguments checked (check_cash_off);
    `store_id`: the store whose till takes the points (None: not a till)."""
    key = f"cashoff:{order_no}"
    member = _lock(session, member.id)
    member_id = member.id
    done = _existing(session, key)
    if done is not None:
        if done.member_id != member_id or done.order_amount_fen != amount_fen:
            raise RedemptionConflict(f"order {order_no} was paid with points before "
                                     f"(member {done.member_id}, {done.order_amount_fen} fen)",
                                     user_message="该订单已使用过积分抵扣。")
        if done.cancelled_at is not None:
            raise CashOffNotAllowed(f"order {order_no}: its cash-off was cancelled",
                                    user_message="该订单的积分抵扣已撤销。")
        return Redemption(done, replayed=True)
    used, fen = cash_off_check(session, member, amount_fen, want)
    _debit(session, member, used, "redeem_cash", key, f"order {order_no}: {fen} fen off", now)
    row = PointsRedemption(member_id=member_id, kind="cash_off", idem_key=key, points=used,
                           order_no=order_no, order_amount_fen=amount_fen, fen_off=fen,
                           created_at=now, store_id=store_id)
    session.add(row)
    session.flush()
    return Redemption(row, replayed=False)


def check_cancel(order_no: str, reason: str) -> tuple[str, str]:
    """The order number and reason of a cancel (a cash-off's, a till's sale's), stripped;
    raises InvalidAmount."""
    order_no, reason = (order_no or "").strip(), (reason or "").strip()
    if not order_no or len(order_no) > 64:
        raise InvalidAmount(f"order number must be 1-64 characters, got {order_no!r}",
                            user_message="订单号无效。")
    if not reason or len(reason) > 100:
        raise InvalidAmount("a reason of 1 to 100 characters is required",
                            user_message="请填写撤销原因（最多 100 字）。")
    return order_no, reason


def cancel_cash_off(uow: UnitOfWork, order_no: str, reason: str,
                    now: datetime | None = None, by: str | None = None,
                    member_id: int | None = None) -> Redemption:
    """Use case: the order of a cash-off is never paid, or is cancelled (fully refunded):
    give the points back, once (ledger reason `redeem_cancel`, key
    `cashoff-cancel:<order_no>`). The order cannot be paid with points again.

    The points come back with the expiry they had: the row is no lot of its own but undoes
    the debit (points_expiry.RESTORE), as if the cash-off had never happened; any of them
    whose last day has passed meanwhile lapse at the next expiry run. A cancel cannot
    extend the life of points about to expire.

    Raises CashOffNotFound, CashOffCancelRefused (the order is recorded as paid and not
    fully refunded) or InvalidAmount, changing nothing. Cancelling again answers `replayed`.
    `by` (an operator, from the console) is audited (`points.cash_off_cancel`, on the
    member's card) in the same transaction; a replay records nothing. `member_id` (the
    console's member page): only that member's cash-off, else CashOffNotFound."""
    order_no, reason = check_cancel(order_no, reason)
    return retrying(f"cancel cash off {order_no}",
                    lambda: _cancel_cash_off(uow, order_no, reason, now or utcnow(), by,
                                             member_id))


def _cancel_cash_off(uow: UnitOfWork, order_no: str, reason: str, now: datetime,
                     by: str | None = None, member_id: int | None = None) -> Redemption:
    key = f"cashoff:{order_no}"
    with uow.write() as session:
        done = _existing(session, key)
        if done is None or member_id not in (None, done.member_id):
            raise CashOffNotFound(f"order {order_no} was not paid with points"
                                  + (f" by member {member_id}" if member_id else ""),
                                  user_message=f"该会员没有订单 {order_no} 的积分抵扣。"
                                  if member_id else None)
        member = _lock(session, done.member_id)  # then the redemption: one lock order
        done = session.scalar(select(PointsRedemption).where(PointsRedemption.idem_key == key)
                              .with_for_update().execution_options(populate_existing=True))
        if done.cancelled_at is not None:
            return Redemption(done, replayed=True)
        order = session.scalar(select(Order).where(Order.out_trade_no == order_no))
        if order is not None and order.status != "refunded":
            raise CashOffCancelRefused(f"order {order_no} is {order.status}")
        # A mini-program 买单 still open at WeChat Pay can yet be paid, with the points off:
        # they come back by themselves when it closes (payments/takes.py).
        if session.scalar(select(JsapiOrder.status).where(
                JsapiOrder.out_trade_no == order_no)) == "created":
            raise CashOffCancelRefused(f"order {order_no} is awaiting WeChat Pay",
                                       user_message="订单正在等待支付，积分抵扣不能撤销；"
                                       "订单关闭后积分会自动退回。")
        restore_cash_off(session, member, done, reason, now)
        if by is not None:
            audit.record(session, by, "points.cash_off_cancel", member.card_no or member.openid,
                         None, {"order_no": order_no, "points": done.points, "reason": reason},
                         now=now)
        return Redemption(done, replayed=False)


def restore_cash_off(session: Session, member: Member, done: PointsRedemption, reason: str,
                     now: datetime) -> PointsRedemption:
    """Give back the points of cash-off `done` (not yet cancelled), inside the caller's
    transaction, which holds the member's row: `cancel_cash_off`'s body, and a full till
    refund's (payments/till_refunds.py)."""
    order_no = done.order_no
    if points.post(session, member, done.points, points_expiry.RESTORE,
                   f"cashoff-cancel:{order_no}", source=f"order {order_no}: {reason}"[:100],
                   now=now) is None:
        raise RedemptionConflict(f"ledger key cashoff-cancel:{order_no} exists without "
                                 f"a cancelled redemption")
    done.cancelled_at, done.cancel_reason = now, reason[:100]
    session.flush()
    return done

