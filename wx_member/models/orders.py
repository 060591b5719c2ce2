"""Payments: orders paid through WeChat Pay, their refunds, and members' tier changes.

Rules live in `payments/orders.py`, `payments/order_refunds.py` and `loyalty/tiers.py`;
these classes hold data only.
The table is `pay_order`, not `order`: ORDER is an SQL keyword, and raw SQL in reports
should not need quoting.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class Order(Base):
    """One paid order (WeChat Pay, or the stored-value balance). `out_trade_no` (ours,
    unique) is what makes repeated notifies harmless: the row is the proof the payment
    was credited."""

    __tablename__ = "pay_order"
    __table_args__ = (
        # A member's first / latest / last order: care anchors and win-back.
        Index("ix_pay_order_member_paid", "member_id", "paid_at"),
        Index("ix_pay_order_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The payer's openid under our appid; member_id is None when the payer is not a member.
    openid: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # total_fee / amount.total
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # paid | partially_refunded | refunded
    status: Mapped[str] = mapped_column(String(20), default="paid")
    # v2 | v3: which notify recorded it; bal: paid from the stored-value balance
    api: Mapped[str] = mapped_column(String(4))
    # purchase | recharge (储值: attach "recharge"; credits stored value, earns nothing)
    purpose: Mapped[str] = mapped_column(String(12), default="purchase",
                                         server_default="purchase")
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sum of the reversals refunds were due (shortfalls included), so the next partial
    # refund's share is computed against what was already taken back.
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    # The dated earn rule the payment's local day matched (loyalty/earn_rules.py), as a
    # percentage applied on top of the tier rate: 100 when none applied.
    earn_multiplier: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # Not a foreign key, so migrations can add and drop it in place: rules are never deleted.
    earn_rule_id: Mapped[int | None] = mapped_column(BigId)
    # Points this order earned the payer's referrer (percentage referral rewards) and how
    # many of them refunds have taken back so far, shortfalls included.
    referral_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    referral_reversed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    paid_at: Mapped[datetime] = mapped_column(DateTime)
    # The store whose till recorded it (/till/v1); None for online and older orders.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Fulfilment, reported by the shop system (pushes/fulfilment.py): not shipped while
    # shipped_at is None; delivered implies shipped.
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_no: Mapped[str | None] = mapped_column(String(64))


class Refund(Base):
    """One successful refund of an order, once per `out_refund_no` (ours, unique)."""

    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str | None] = mapped_column(String(64))  # WeChat's id for it
    order_id: Mapped[int] = mapped_column(ForeignKey("pay_order.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)  # actually taken back
    points_shortfall: Mapped[int] = mapped_column(BigInteger, default=0)  # due but already spent
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)  # WeChat's success_time
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TierHistory(Base):
    """Every change of a member's tier, with its cause (an order or a refund)."""

    __tablename__ = "tier_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_tier: Mapped[str] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))  # payment | refund | review
    # order:<no> | refund:<no> | review:<date>
    cause: Mapped[str | None] = mapped_column(String(100))
    total_spend_fen: Mapped[int] = mapped_column(BigInteger)  # what the decision saw
    # Indexed: the tier notices look at recent changes every few minutes.
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
