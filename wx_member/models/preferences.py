"""Preference tag rules (e.g. 拿铁爱好者 = at least 3 purchases in category 拿铁 within 90
days). The tags themselves are `member_tag` rows written by `console/tag_rules.py`'s daily
job, `created_by` "rule:<id>", so segments and the console see them like operators' tags."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class TagRule(Base):
    __tablename__ = "tag_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # category | sku
    value: Mapped[str] = mapped_column(String(40))  # the category or the SKU
    min_purchases: Mapped[int] = mapped_column(Integer)  # distinct orders
    within_days: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
