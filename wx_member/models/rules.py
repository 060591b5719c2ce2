"""Earning and tier rules: dated earn rules (double-points days, member days) and the
outcome of each yearly tier review.

Rules live in `loyalty/earn_rules.py` and `loyalty/tier_review.py`; these classes hold
data only.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class EarnRule(Base):
    """A points multiplier on some local days: `dates` (every day from `starts_on` to
    `ends_on`, inclusive: a double-points day or range) or `weekday` (every ISO weekday
    `weekday`, 1 = Monday: a member day, optionally only between the two dates).

    Rules are never deleted, only disabled: orders keep pointing at the rule they used."""

    __tablename__ = "earn_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))  # dates | weekday
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 1..7 (ISO), weekday rules
    starts_on: Mapped[date | None] = mapped_column(Date)  # local dates, inclusive
    ends_on: Mapped[date | None] = mapped_column(Date)
    multiplier_percent: Mapped[int] = mapped_column(Integer)  # 200 = double points
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled_by: Mapped[str | None] = mapped_column(String(60))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)


class TierReview(Base):
    """One member's yearly tier review on one local date, kept or lowered: the unique
    (member, review date) is what makes running the review twice harmless."""

    __tablename__ = "tier_review"
    __table_args__ = (UniqueConstraint("member_id", "review_date", name="uq_tier_review"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    review_date: Mapped[date] = mapped_column(Date)
    from_tier: Mapped[str] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))  # equal to from_tier: kept
    qualifying_fen: Mapped[int] = mapped_column(BigInteger)  # the spend the decision saw
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
