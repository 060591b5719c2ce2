"""Stored value (储值): the balance ledger, recharges through WeChat Pay with a bonus ladder,
refunds of recharges. Paying from the balance (a purchase like any other) and refunding such
a payment are in payments/balance_payments.py.

The same guarantees as points: every change is a `stored_value_ledger` row with a unique
idempotency key from its cause (`recharge:<out_trade_no>`, `recharge_bonus:<out_trade_no>`,
`pay:<order_no>`, `pay_refund:<refund no>`, `refund:<out_refund_no>`,
`refund_bonus:<out_refund_no>`);
`member.balance_fen` caches the ledger sum. The rows and the balance move through the
ledger primitive shared with points (platform/ledger.py): a replay changes nothing, the
balance moves in the same transaction as its row, and a debit is refused by the database
(`WHERE balance_fen >= n`), so the balance never goes below zero, also under concurrency.

A recharge arrives as a WeChat Pay payment notify with `attach` = "recharge". It is
recorded as a `pay_order` row with purpose `recharge` (so `out_trade_no` stays unique
across purchases and recharges, and a refund finds it), credited once, and earns no points
and no tier spend: the money is spent later, and counted then.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.db import UnitOfWork, retrying, savepoint
from wx_member.clock import utcnow
from wx_member.models import (JsapiOrder, Member, Order, RechargeOption, RechargeRefund,
                              StoredValueLedger)
from wx_member.members import membership
from wx_member.platform import audit
from wx_member.platform.errors import DomainError, InvalidAmount, UnknownMember
from wx_member.payments.order_errors import OrderMismatch
from wx_member.platform.ledger import Ledger, lock_member
from wx_member.wechat.pay import PaymentNotice

log = logging.getLogger(__name__)

class InsufficientBalance(DomainError):
    code = "INSUFFICIENT_BALANCE"
    user_message = "储值余额不足。"


@dataclass
class RechargeResult:
    order: Order
    credited: bool  # False: a replay, nothing changed
    principal_fen: int
    bonus_fen: int


def _whole_fen(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidAmount(f"{what} must be a positive number of fen, got {value!r}",
                            user_message="金额必须是正整数（分）。")


LEDGER = Ledger("stored_value", StoredValueLedger, "delta_fen", "balance_fen",
                InsufficientBalance)


def post(session: Session, member: Member, delta_fen: int, reason: str, idem_key: str,
         order_no: str | None = None, source: str | None = None) -> int | None:
    """One ledger row inside the caller's transaction; None when `idem_key` was posted
    before. Raises InsufficientBalance (nothing written) when a debit would go below zero."""
    return LEDGER.post(session, member, delta_fen, reason, idem_key, order_no=order_no,
                       source=source)


def ledger_sum(session: Session, member_id: int) -> int:
    return LEDGER.sum(session, member_id)


def history(session: Session, member_id: int, limit: int = 50) -> list[StoredValueLedger]:
    return LEDGER.history(session, member_id, limit)


# ---- the bonus ladder ------------------------------------------------------------------

def options(session: Session) -> list[RechargeOption]:
    """The active rungs, lowest first: what the mini-program offers (充500送50, ...)."""
    return list(session.scalars(select(RechargeOption).where(RechargeOption.active.is_(True))
                                .order_by(RechargeOption.amount_fen)))


def recharge_text(amount_fen: int, bonus_fen: int) -> str:
    """充500送50, 充700.01送50, 充123 (no bonus): a rung's or a typed amount's words."""
    def yuan(fen: int) -> str:
        return f"{fen // 100}" if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"
    return f"充{yuan(amount_fen)}送{yuan(bonus_fen)}" if bonus_fen else f"充{yuan(amount_fen)}"


def option_text(option: RechargeOption) -> str:
    return recharge_text(option.amount_fen, option.bonus_fen)


def bonus_for(session: Session, amount_fen: int) -> int:
    """The bonus of the highest active rung the amount reaches (700 yuan → 充500送50)."""
    return int(session.scalar(select(RechargeOption.bonus_fen)
                              .where(RechargeOption.active.is_(True),
                                     RechargeOption.amount_fen <= amount_fen)
                              .order_by(RechargeOption.amount_fen.desc()).limit(1)) or 0)


def set_option(uow: UnitOfWork, amount_fen: int, bonus_fen: int, by: str,
               active: bool = True) -> RechargeOption:
    """Use case: an operator adds, changes or withdraws a rung (effective on the next
    recharge notify)."""
    _whole_fen(amount_fen, "amount")
    if not isinstance(bonus_fen, int) or isinstance(bonus_fen, bool) or bonus_fen < 0:
        raise InvalidAmount(f"bonus must be a whole number of fen >= 0, got {bonus_fen!r}",
                            user_message="赠送金额必须是非负整数（分）。")
    if bonus_fen > amount_fen:
        raise InvalidAmount(f"bonus {bonus_fen} above the recharge {amount_fen}",
                            user_message="赠送金额不能大于充值金额。")
    with uow.write() as session:
        row = session.scalar(select(RechargeOption).where(RechargeOption.amount_fen == amount_fen)
                             .with_for_update())
        before = None if row is None else {"bonus": row.bonus_fen, "active": row.active}
        if row is None:
            row = RechargeOption(amount_fen=amount_fen)
            session.add(row)
        row.bonus_fen, row.active, row.updated_by, row.updated_at = bonus_fen, active, by, utcnow()
        audit.record(session, by, "recharge_option.set", option_text(row), before,
                     {"bonus": bonus_fen, "active": active})
        return row


# ---- recharge (a WeChat Pay notify with attach "recharge") -------------------------------

def record_recharge(uow: UnitOfWork, notice: PaymentNotice,
                    now: datetime | None = None) -> RechargeResult | None:
    """Use case: a verified recharge payment. Credits principal and bonus once per
    `out_trade_no`. Returns None for a failed payment. Raises OrderMismatch when the
    out_trade_no is known otherwise, UnknownMember when the payer is not a member (nothing
    written; WeChat retries, so a payer who joins meanwhile is credited)."""
    if not notice.success:
        log.info("recharge %s not successful; nothing recorded", notice.out_trade_no)
        return None
    now = now or utcnow()
    return retrying(f"recharge {notice.out_trade_no}",
                    lambda: _record_recharge(uow, notice, now))


def _replayed(existing: Order | None, notice: PaymentNotice) -> RechargeResult:
    if existing is None or existing.purpose != "recharge" \
            or existing.amount_fen != notice.amount_fen or existing.openid != notice.openid:
        raise OrderMismatch(f"recharge {notice.out_trade_no} disagrees with the order recorded")
    log.info("recharge %s already credited; replay ignored", notice.out_trade_no)
    return RechargeResult(existing, credited=False, principal_fen=0, bonus_fen=0)


def _record_recharge(uow: UnitOfWork, notice: PaymentNotice, now: datetime) -> RechargeResult:
    no = notice.out_trade_no
    with uow.write() as session:
        member = lock_member(session, membership.paid_by(notice.openid))
        existing = session.scalar(select(Order).where(Order.out_trade_no == no))
        if existing is not None:
            return _replayed(existing, notice)
        if member is None:
            raise UnknownMember(f"recharge {no} paid by {notice.openid}, who is not a member")
        order = Order(out_trade_no=no, transaction_id=notice.transaction_id or None,
                      openid=notice.openid, member_id=member.id, amount_fen=notice.amount_fen,
                      refunded_fen=0, status="paid", api=notice.api, purpose="recharge",
                      points_earned=0, points_reversed=0, paid_at=notice.paid_at or now,
                      created_at=now)
        try:
            with savepoint(session):
                session.add(order)
                session.flush()
        except IntegrityError:
            return _replayed(session.scalar(select(Order).where(Order.out_trade_no == no)), notice)
        bonus, fixed = _bonus_of(session, member, notice, now)
        post(session, member, notice.amount_fen, "recharge", f"recharge:{no}", no,
             source=f"{notice.api} {no}")
        if bonus:
            post(session, member, bonus, "recharge_bonus", f"recharge_bonus:{no}", no,
                 source="fixed when ordered" if fixed else f"ladder at {notice.amount_fen} fen")
        return RechargeResult(order, credited=True, principal_fen=notice.amount_fen,
                              bonus_fen=bonus)


def _bonus_of(session: Session, member: Member, notice: PaymentNotice,
              now: datetime) -> tuple[int, bool]:
    """The bonus of this recharge: the one fixed when we created its WeChat Pay order
    (payments/wxpay_orders.py; a ladder changed since does not matter), which is marked
    paid; for a recharge paid elsewhere, the ladder's now. (bonus, fixed)"""
    ordered = session.scalar(select(JsapiOrder).where(
        JsapiOrder.out_trade_no == notice.out_trade_no).with_for_update())
    if ordered is None:
        return bonus_for(session, notice.amount_fen), False
    if (ordered.amount_fen, ordered.member_id) != (notice.amount_fen, member.id):
        raise OrderMismatch(f"recharge {notice.out_trade_no}: ordered {ordered.amount_fen} fen "
                            f"by member {ordered.member_id}, paid {notice.amount_fen} fen by "
                            f"{notice.openid}")
    ordered.status, ordered.paid_at = "paid", notice.paid_at or now
    return ordered.bonus_fen, True


def reverse_recharge(session: Session, member: Member, order: Order, refund_fen: int,
                     out_refund_no: str) -> None:
    """A refund of a recharge, inside payments/order_refunds.py's refund transaction (member
    and order locked, `order.refunded_fen` already includes this refund): take back the
    principal refunded and the bonus in proportion (after each refund the bonus taken back
    adds up to floor(bonus × refunded ÷ amount)). What the member has already spent is not
    pushed below zero: the row's source records the shortfall.

    A refund the shop started (payments/recharge_refunds.py) took its money, bonus first,
    when it was asked for: its notify only marks it succeeded."""
    started = session.scalar(select(RechargeRefund).where(
        RechargeRefund.out_refund_no == out_refund_no).with_for_update())
    if started is not None:
        started.status, started.completed_at = "succeeded", utcnow()
        return
    granted = int(session.scalar(select(func.coalesce(func.sum(StoredValueLedger.delta_fen), 0))
                                 .where(StoredValueLedger.idem_key == f"recharge_bonus:{order.out_trade_no}")))
    before = order.refunded_fen - refund_fen
    bonus_due = (granted * order.refunded_fen // order.amount_fen
                 - granted * before // order.amount_fen)
    for reason, due in (("refund", refund_fen), ("refund_bonus", bonus_due)):
        taken = min(due, member.balance_fen)
        short = f"; shortfall {due - taken}" if due > taken else ""
        if due > taken:
            log.warning("refund %s: member %s had spent %d of the %d fen (%s) to take back",
                        out_refund_no, member.id, due - taken, due, reason)
        if taken:
            post(session, member, -taken, reason, f"{reason}:{out_refund_no}", order.out_trade_no,
                 source=f"refund {out_refund_no}{short}")


def summary(session: Session, member: Member, limit: int = 50) -> dict:
    """The member's balance, its ledger sum (equal, checked by tests) and recent rows."""
    return {
        "balance_fen": member.balance_fen,
        "ledger_sum_fen": ledger_sum(session, member.id),
        "ledger": [{"delta_fen": r.delta_fen, "reason": r.reason,
                    "reason_zh": labels.BALANCE_REASONS.get(r.reason, r.reason), "idem_key": r.idem_key,
                    "order_no": r.order_no, "source": r.source,
                    "created_at": r.created_at.isoformat() + "Z"}
                   for r in history(session, member.id, limit)],
    }
