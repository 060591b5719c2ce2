"""Rate-limit counters of the mini-program API when no Redis is configured
(`wx_member/ratelimit_storage.py` reads and writes them; see there)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.models.core import Base


class RateLimitCounter(Base):
    """One limit's recent hits for one client: a moving window keeps the times of the last
    `limit` hits (as Redis keeps them in a list). `expires_at` is when the newest hit leaves
    the window: from then on the row counts nothing, and housekeeping deletes it."""

    __tablename__ = "rate_limit_counter"
    __table_args__ = (Index("ix_rate_limit_counter_expires_at", "expires_at"),)

    # Flask-Limiter's key: "LIMITER/<client>/<endpoint>/<amount>/<multiples>/<granularity>".
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Unix times (seconds, 6 decimals) of the hits still in the window, oldest first,
    # space-separated; at most `limit` of them.
    hits: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
