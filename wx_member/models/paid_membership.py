"""付费会员 (paid membership, issue 14): products sold through WeChat Pay (a tier for N days),
each purchase paid, and the paid tier a member holds until an end date
(payments/paid_memberships.py; the tier rule is loyalty/tiers.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class MembershipProduct(Base):
    __tablename__ = "membership_product"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # 金卡年卡
    tier: Mapped[str] = mapped_column(String(20))  # one of loyalty.tiers.LADDER above normal
    days: Mapped[int] = mapped_column(Integer)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PaidTier(Base):
    """The paid tier a member holds (one row per member): until `ends_at`; `expired_at` set
    once the expiry job returned them to the tier their spend gives."""

    __tablename__ = "paid_tier"
    __table_args__ = (Index("ix_paid_tier_ends_at", "ends_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20))
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MembershipPurchase(Base):
    """One paid membership order, credited once (unique `out_trade_no`): the period it added."""

    __tablename__ = "membership_purchase"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("membership_product.id"))
    tier: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime] = mapped_column(DateTime)
    # A refund the shop started (payments/membership_refunds.py), at most one per purchase:
    # requested → processing (WeChat Pay accepted it: the unused days taken off the paid
    # tier) → succeeded (its notify) | failed (refused: the purchase stands).
    out_refund_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    refund_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_days: Mapped[int] = mapped_column(Integer, default=0)  # unused days taken off
    refund_status: Mapped[str | None] = mapped_column(String(12))
    refund_by: Mapped[str | None] = mapped_column(String(60))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)
