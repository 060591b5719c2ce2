"""Refunds of recharges that the shop starts (console, CLI) through WeChat Pay's
`/v3/refund/domestic/refunds`.

Only what is left of the recharge can go back, and the bonus goes first: the bonus not yet
taken back leaves the balance before any cash is refunded, so a member who spent part of a
充500送50 recharge (balance 350) gets at most 300 yuan back (350 − the 50 bonus). The money
leaves the balance when the refund is asked for (ledger keys `refund_bonus:<no>` and
`refund:<no>`, the same ones a refund notify would post, so the notify adds nothing), so it
cannot be spent meanwhile; WeChat Pay's REFUND.SUCCESS notify records the refund on the
order (payments/order_refunds.py) and marks it succeeded. WeChat Pay refusing the refund
puts the money back (`refund_undone:<no>`, `refund_bonus_undone:<no>`). WeChat Pay is
called with no transaction open.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.errors import DomainError
from wx_member.models import Member, Order, RechargeRefund, StoredValueLedger
from wx_member.payments import order_refunds, orders, stored_value
from wx_member.payments.order_errors import UnknownOrder
from wx_member.wechat.pay_client import PayApiError, WeChatPayClient

log = logging.getLogger(__name__)
OPEN = ("requested", "processing")


class RechargeRefundRefused(DomainError):
    code = "RECHARGE_REFUND_REFUSED"
    user_message = "该订单不能退款。"


@dataclass(frozen=True)
class RechargeRefundView:
    out_refund_no: str
    out_trade_no: str
    amount_fen: int
    bonus_fen: int
    status: str
    balance_fen: int  # the member's balance after the money left it


def _sum(session: Session, *where) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(StoredValueLedger.delta_fen), 0))
                              .where(*where)))


def refundable(session: Session, order: Order, balance_fen: int) -> tuple[int, int]:
    """(cash that may go back, bonus to take back first) for recharge `order` now."""
    no = order.out_trade_no
    granted = _sum(session, StoredValueLedger.idem_key == f"recharge_bonus:{no}")
    taken = -_sum(session, StoredValueLedger.order_no == no,
                  StoredValueLedger.reason.in_(["refund_bonus", "refund_bonus_undone"]))
    pending = int(session.scalar(select(func.coalesce(func.sum(RechargeRefund.amount_fen), 0))
                                 .where(RechargeRefund.out_trade_no == no,
                                        RechargeRefund.status.in_(OPEN))))
    bonus_left = max(0, granted - taken)
    cash_left = order.amount_fen - order.refunded_fen - pending
    return max(0, min(cash_left, balance_fen - bonus_left)), min(bonus_left, balance_fen)


def refund_recharge(uow: UnitOfWork, client: WeChatPayClient, out_trade_no: str, *, by: str,
                    amount_fen: int | None = None, reason: str = "",
                    now: datetime | None = None) -> RechargeRefundView:
    """Use case: refund `amount_fen` (default: all that may go back) of recharge
    `out_trade_no` to the payer's WeChat. Raises RechargeRefundRefused (Chinese, nothing changed)
    when the amount is more than the unspent part after the bonus, PayApiError when WeChat
    Pay refuses (the money is back on the balance)."""
    now = now or utcnow()
    held = _hold(uow, out_trade_no, by, amount_fen, now)
    try:
        client.refund(out_trade_no=out_trade_no, out_refund_no=held.out_refund_no,
                      refund_fen=held.amount_fen, total_fen=held.total_fen,
                      reason=reason or "储值退款")
    except PayApiError as exc:
        if exc.maybe_sent:  # WeChat Pay may have it: its notify (or an operator) decides
            log.error("refund %s of %s: no answer from WeChat Pay; money held: %s",
                      held.out_refund_no, out_trade_no, exc)
            raise
        log.warning("refund %s of %s refused by WeChat Pay: %s", held.out_refund_no,
                    out_trade_no, exc)
        _undo(uow, held.out_refund_no, exc.wx_code or "NO_ANSWER")
        raise
    return _accepted(uow, held.out_refund_no)


@dataclass(frozen=True)
class _Held:
    out_refund_no: str
    amount_fen: int
    total_fen: int


def _hold(uow: UnitOfWork, no: str, by: str, amount_fen: int | None,
          now: datetime) -> _Held:
    if amount_fen is not None and (not isinstance(amount_fen, int) or amount_fen <= 0):
        raise RechargeRefundRefused(f"refund amount {amount_fen!r}", user_message="退款金额必须是正整数（分）。")
    with uow.write() as session:
        order = orders.order_by_no(session, no)
        if order is None:
            raise UnknownOrder(f"no order {no}")
        if order.purpose != "recharge" or order.api not in ("v2", "v3") or not order.member_id:
            raise RechargeRefundRefused(f"order {no} is not a member's WeChat Pay recharge",
                                user_message="只能退款会员通过微信支付的储值充值订单。")
        member, order = order_refunds.lock_for_refund(session, order)
        cash, bonus = refundable(session, order, member.balance_fen)
        amount = cash if amount_fen is None else amount_fen
        if amount <= 0 or amount > cash:
            raise RechargeRefundRefused(
                f"refund of {amount} fen asked, {cash} fen refundable",
                user_message=f"该充值最多可退 {cash / 100:.2f} 元（先扣回赠送金额，已消费部分不退）。")
        rno = "RF" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()
        if bonus:
            stored_value.post(session, member, -bonus, "refund_bonus", f"refund_bonus:{rno}", no,
                              source=f"refund {rno} by {by}: bonus first")
        stored_value.post(session, member, -amount, "refund", f"refund:{rno}", no,
                          source=f"refund {rno} by {by}")
        session.add(RechargeRefund(out_refund_no=rno, out_trade_no=no, member_id=member.id,
                                   amount_fen=amount, bonus_fen=bonus, status="requested",
                                   requested_by=by[:60], created_at=now))
        log.info("refund %s of recharge %s: %d fen (bonus %d taken back) by %s", rno, no,
                 amount, bonus, by)
        return _Held(rno, amount, order.amount_fen)


def _undo(uow: UnitOfWork, rno: str, error: str) -> None:
    """Use case: WeChat Pay refused refund `rno`: the money held goes back to the balance."""
    with uow.write() as session:
        refund = session.scalar(select(RechargeRefund).where(
            RechargeRefund.out_refund_no == rno).with_for_update())
        member, _ = order_refunds.lock_for_refund(session, orders.order_by_no(session,
                                                                       refund.out_trade_no))
        for reason, fen in (("refund_undone", refund.amount_fen),
                            ("refund_bonus_undone", refund.bonus_fen)):
            if fen:
                stored_value.post(session, member, fen, reason, f"{reason}:{rno}",
                                  refund.out_trade_no, source=f"WeChat Pay refused: {error}")
        refund.status, refund.error, refund.completed_at = "failed", error, utcnow()


def _accepted(uow: UnitOfWork, rno: str) -> RechargeRefundView:
    """Use case: WeChat Pay accepted refund `rno` (its notify may already have completed it)."""
    with uow.write() as session:
        refund = session.scalar(select(RechargeRefund).where(
            RechargeRefund.out_refund_no == rno).with_for_update())
        if refund.status == "requested":
            refund.status = "processing"
        balance = stored_value.ledger_sum(session, refund.member_id)
        return RechargeRefundView(rno, refund.out_trade_no, refund.amount_fen,
                                  refund.bonus_fen, refund.status, balance)


@dataclass(frozen=True)
class RefundableRecharge:
    out_trade_no: str
    paid_at: datetime
    amount_fen: int
    cash_fen: int  # what may go back now (the bonus is taken back first)


def refundable_of(uow: UnitOfWork, member_id: int, limit: int = 20) -> list[RefundableRecharge]:
    """Use case (read): the member's WeChat Pay recharges with something left to refund,
    newest first, for the member's page to offer by name instead of an order number."""
    with uow.read() as session:
        member = session.get(Member, member_id)
        if member is None:
            return []
        found = session.scalars(select(Order).where(
            Order.member_id == member_id, Order.purpose == "recharge",
            Order.api.in_(("v2", "v3"))).order_by(Order.paid_at.desc()).limit(limit))
        out = []
        for order in found:
            cash, _ = refundable(session, order, member.balance_fen)
            if cash > 0:
                out.append(RefundableRecharge(order.out_trade_no, order.paid_at,
                                              order.amount_fen, cash))
        return out
