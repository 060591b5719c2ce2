"""What a member reads of their stored value (储值): the balance and its ledger page by
page with Chinese reasons, and the recharge ladder the mini-program offers. Read-only;
the rules are `stored_value.py`'s."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.models import Member, StoredValueLedger
from wx_member.platform import paging
from wx_member.payments import stored_value
from wx_member.platform.errors import UnknownMember


@dataclass(frozen=True)
class BalanceEntry:
    id: int
    delta_fen: int
    reason: str
    reason_zh: str
    order_no: str | None
    created_at: datetime


@dataclass(frozen=True)
class BalancePage:
    balance_fen: int
    entries: list[BalanceEntry]
    next_before: int | None


@dataclass(frozen=True)
class RechargeChoice:
    amount_fen: int
    bonus_fen: int
    text: str  # 充500送50


def page(uow: UnitOfWork, member_id: int, before: int | None, limit: int) -> BalancePage:
    """The balance and the ledger rows that make it, newest first (one read)."""
    q = select(StoredValueLedger).where(StoredValueLedger.member_id == member_id)
    with uow.read() as session:
        balance = session.scalar(select(Member.balance_fen).where(Member.id == member_id))
        if balance is None:
            raise UnknownMember(f"no member {member_id}")
        rows, next_before = paging.cut(
            session.scalars(paging.newest_first(q, StoredValueLedger.id, before, limit)).all(),
            limit, lambda r: r.id)
    return BalancePage(balance, [
        BalanceEntry(r.id, r.delta_fen, r.reason, labels.BALANCE_REASONS.get(r.reason, "其他"),
                     r.order_no, r.created_at) for r in rows], next_before)


def recharge_choices(uow: UnitOfWork) -> list[RechargeChoice]:
    """The active rungs of the ladder, lowest first. A recharge of any amount is possible;
    the bonus is the highest rung reached when the order is made (payments/wxpay_orders.py)."""
    with uow.read() as session:
        return [RechargeChoice(o.amount_fen, o.bonus_fen, stored_value.option_text(o))
                for o in stored_value.options(session)]
