"""Stored value (储值): the balance ledger and the recharge bonus ladder.

`member.balance_fen` is a cache of the member's ledger sum, moved in the same transaction
as each row (payments/stored_value.py). Principal and bonus are separate rows (reasons
`recharge` and `recharge_bonus`), so refunds and reports can tell them apart.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class StoredValueLedger(Base):
    """Append-only, one row per change of a member's balance (fen)."""

    __tablename__ = "stored_value_ledger"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    delta_fen: Mapped[int] = mapped_column(BigInteger)
    # recharge | recharge_bonus | pay | pay_refund | refund | refund_bonus
    reason: Mapped[str] = mapped_column(String(40))
    idem_key: Mapped[str] = mapped_column(String(160), unique=True)
    order_no: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RechargeOption(Base):
    """A rung of the bonus ladder: a recharge of at least `amount_fen` earns `bonus_fen`
    (the highest rung reached counts)."""

    __tablename__ = "recharge_option"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, unique=True)
    bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
