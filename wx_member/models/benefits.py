"""Member benefits at the till: tier discounts, member days and member price lists.

Rules live in `payments/benefits.py` and `payments/price_lists.py` (configuration) and
`payments/pricing.py` (what a basket costs a member); these classes hold data only. Money
is integer fen; a discount is the percentage of the price a member pays (95 = 95折 = 5 %
off).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Integer, SmallInteger, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class TierDiscount(Base):
    """A tier's everyday discount (银卡 95折 ...) and the categories it does not apply to."""

    __tablename__ = "tier_discount"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), unique=True)
    percent: Mapped[int] = mapped_column(SmallInteger)  # paid: 1..100 (100: no discount)
    excluded_categories: Mapped[list] = mapped_column(JSON, default=list)
    updated_by: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MemberDay(Base):
    """A member day (会员日): every ISO `weekday` (kind weekday, 1 = Monday) or the `day`th
    of each month (kind monthday), for one tier or all (`tier` None). It gives a discount
    (`discount_percent`, paid) and/or a points multiplier (`points_percent`, 200 = double).
    Never deleted, only disabled."""

    __tablename__ = "member_day"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))  # weekday | monthday
    day: Mapped[int] = mapped_column(SmallInteger)  # 1..7 (weekday) or 1..31 (monthday)
    tier: Mapped[str | None] = mapped_column(String(20))  # None: every tier
    discount_percent: Mapped[int | None] = mapped_column(SmallInteger)  # paid, 1..99
    points_percent: Mapped[int | None] = mapped_column(Integer)  # 101..1000
    excluded_categories: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MemberPrice(Base):
    """A price list row: what a member of `tier` (or above, when the tier above has no row
    of its own) pays for one unit of `sku`."""

    __tablename__ = "member_price"
    __table_args__ = (UniqueConstraint("sku", "tier", name="uq_member_price_sku_tier"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str] = mapped_column(String(20))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
