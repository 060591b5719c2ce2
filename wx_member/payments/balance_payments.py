"""Paying from the stored-value balance, and refunding such a payment.

A purchase is a purchase, whatever pays it: a payment from the balance is recorded as a
`pay_order` row (`api` "bal") by the same body as a WeChat Pay notify
(`orders.credit_purchase`), so it earns points at the tier rate and the day's earn rule,
counts towards tier spend and the referrer's share, in the one transaction that also takes
the money (`pay:<order_no>` on the stored-value ledger). The recharge that put the money
there earned nothing (payments/stored_value.py): the money counts once, when spent.

A refund of such a payment goes through `order_refunds.apply_refund` like a WeChat refund
(points back in proportion, key `refund:<refund no>`; spend, tier, the coupons of a fully
refunded order) and returns the money to the balance (`pay_refund:<refund no>`). Refund
numbers share WeChat Pay's `out_refund_no` space: one refund number, one refund.

One order is paid by one means: an order number recorded from a WeChat Pay notify cannot
be paid from the balance, and the reverse (a split payment needs two order numbers).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from wx_member.db import UnitOfWork, programme_tz, retrying
from wx_member.clock import utcnow
from wx_member.models import Member, Refund, StoredValueLedger
from wx_member.coupons import wallet
from wx_member.payments import order_refunds, orders
from wx_member.payments import stored_value
from wx_member.payments.order_errors import UnknownOrder
from wx_member.platform.errors import DomainError, InvalidAmount

log = logging.getLogger(__name__)
BALANCE = orders.BALANCE


class BalancePaymentMismatch(DomainError):
    code = "BALANCE_PAYMENT_MISMATCH"
    user_message = "该订单已用储值支付过，金额或会员不一致。"


class PaidOtherwise(DomainError):
    """The order number was recorded as paid by WeChat Pay (or is a recharge)."""
    code = "PAID_OTHERWISE"
    user_message = "该订单已通过其他方式支付。"


class NotABalancePayment(DomainError):
    code = "NOT_A_BALANCE_PAYMENT"
    user_message = "该订单不是储值支付的订单，不能退回储值。"


class RefundRefused(DomainError):
    code = "REFUND_REFUSED"
    user_message = "退款金额超过订单可退金额。"


@dataclass
class BalancePayment:
    member: Member
    amount_fen: int
    balance_fen: int  # after the payment
    replayed: bool
    points: int = 0  # earned by this payment (0 on a replay)
    new_tier: str | None = None


@dataclass
class BalanceRefund:
    refund: Refund
    member: Member
    balance_fen: int  # after the refund
    points_reversed: int
    replayed: bool


def _order_no(value: str, what: str = "order number") -> str:
    value = (value or "").strip()
    if not value or len(value) > 64:
        raise InvalidAmount(f"an {what} of 1 to 64 characters is required, got {value!r}",
                            user_message="请填写订单号。" if what == "order number"
                            else "请填写退款单号。")
    return value


def _fen(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidAmount(f"{what} must be a positive number of fen, got {value!r}",
                            user_message="金额必须是正整数（分）。")
    return value


# ---- paying ----------------------------------------------------------------------------

def pay(uow: UnitOfWork, openid_or_card: str, amount_fen: int, order_no: str, by: str,
        now: datetime | None = None, tz: ZoneInfo | None = None) -> BalancePayment:
    """Use case: a cashier or the mini-program pays order `order_no` from the member's
    balance, once per order, and the order earns like a WeChat Pay order paid at `now`.
    Insufficient balance: InsufficientBalance, nothing changed. The same order again with
    the same member and amount answers as the first time."""
    _fen(amount_fen, "amount")
    order_no = _order_no(order_no)
    now, tz = now or utcnow(), tz or programme_tz(uow)
    return retrying(f"balance payment {order_no}",
                    lambda: _pay(uow, openid_or_card, amount_fen, order_no, by, now, tz))


def _pay(uow: UnitOfWork, openid_or_card: str, amount_fen: int, order_no: str, by: str,
         now: datetime, tz: ZoneInfo) -> BalancePayment:
    key = f"pay:{order_no}"
    with uow.write() as session:
        # The member's row first, as payments do: the ledger insert's foreign-key check
        # would otherwise share-lock it in two transactions that then both wait to update it.
        member = wallet.holder(session, openid_or_card, lock=True)
        if stored_value.post(session, member, -amount_fen, "pay", key, order_no,
                             source=by[:100]) is None:
            first = session.scalar(select(StoredValueLedger)
                                   .where(StoredValueLedger.idem_key == key))
            if first.member_id != member.id or first.delta_fen != -amount_fen:
                raise BalancePaymentMismatch(
                    f"order {order_no} was paid from the balance of member {first.member_id} "
                    f"with {-first.delta_fen} fen")
            return BalancePayment(member, amount_fen, member.balance_fen, replayed=True)
        # The payer: the member's Official Account openid, else their mini-program one.
        payer = member.openid or member.mini_openid or f"member:{member.id}"
        credited = orders.credit_purchase(session, member, order_no=order_no, openid=payer,
                                          amount_fen=amount_fen, paid_at=now, api=BALANCE,
                                          tz=tz, now=now)
        if credited is None:  # the whole transaction, the debit included, rolls back
            raise PaidOtherwise(f"order {order_no} is already recorded as paid otherwise")
        return BalancePayment(member, amount_fen, member.balance_fen, replayed=False,
                              points=credited.points, new_tier=credited.new_tier)


# ---- refunding -------------------------------------------------------------------------

def refund(uow: UnitOfWork, order_no: str, amount_fen: int, refund_no: str, by: str,
           now: datetime | None = None, tz: ZoneInfo | None = None) -> BalanceRefund:
    """Use case: refund `amount_fen` of balance-paid order `order_no` to the balance, once
    per `refund_no`, reversing points, spend and tier as a WeChat refund does (and giving
    back its coupons when the order is then fully refunded). The same refund number again
    with the same order and amount answers as the first time. Raises UnknownOrder,
    NotABalancePayment, RefundRefused (more than is left), BalancePaymentMismatch (the
    refund number was used otherwise) or InvalidAmount, with nothing written."""
    _fen(amount_fen, "refund amount")
    order_no, refund_no = _order_no(order_no), _order_no(refund_no, "refund number")
    now, tz = now or utcnow(), tz or programme_tz(uow)
    return retrying(f"balance refund {refund_no}",
                    lambda: _refund(uow, order_no, amount_fen, refund_no, by, now, tz))


def _refund(uow: UnitOfWork, order_no: str, amount_fen: int, refund_no: str, by: str,
            now: datetime, tz: ZoneInfo) -> BalanceRefund:
    with uow.write() as session:
        order = orders.order_by_no(session, order_no)
        if order is None:
            raise UnknownOrder(f"no order {order_no}")
        if order.api != BALANCE:
            raise NotABalancePayment(f"order {order_no} was paid by {order.api}")
        member, order = order_refunds.lock_for_refund(session, order)
        if member is None:  # a balance payment always has its member; never by this module
            raise NotABalancePayment(f"order {order_no} has no member")
        done = session.scalar(select(Refund).where(Refund.out_refund_no == refund_no))
        if done is not None:
            if done.order_id != order.id or done.amount_fen != amount_fen:
                raise BalancePaymentMismatch(f"refund {refund_no} was recorded for another "
                                             f"order or amount",
                                             user_message="该退款单号已用于其他退款。")
            return BalanceRefund(done, member, member.balance_fen, done.points_reversed,
                                 replayed=True)
        left = order.amount_fen - order.refunded_fen
        if amount_fen > left:
            raise RefundRefused(f"refund {refund_no}: {amount_fen} fen, {left} left",
                                user_message=f"退款金额超过订单可退金额（剩余 {left} 分）。")
        result = order_refunds.apply_refund(session, member, order, out_refund_no=refund_no,
                                            refund_fen=amount_fen, refund_id=None,
                                            refunded_at=now, api=BALANCE, tz=tz, now=now)
        if result is None:  # lost a race for the refund number to another order's refund
            raise BalancePaymentMismatch(f"refund {refund_no} was recorded meanwhile",
                                         user_message="该退款单号已用于其他退款。")
        stored_value.post(session, member, amount_fen, "pay_refund", f"pay_refund:{refund_no}",
                          order_no, source=f"{by}: refund {refund_no}"[:100])
        return BalanceRefund(result.refund, member, member.balance_fen,
                             result.refund.points_reversed, replayed=False)
