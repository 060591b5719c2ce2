"""Stores of the chain and the keys their tills call /till/v1 with.

Rules live in `members/stores.py` (stores, home stores) and `payments/till_keys.py` (keys);
these classes hold data only. A store is never deleted (orders, members and the audit log
name it): it is closed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class Store(Base):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. SH001, what tills say
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(40), default="", server_default="")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(10), default="open",
                                        server_default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class TillKey(Base):
    """One till's key for its store. Only the SHA-256 of the key is kept (the key is 32
    random bytes, shown once); `prefix` (the key's first characters) tells keys apart in
    lists. Revoked keys stay, for the record."""

    __tablename__ = "till_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    label: Mapped[str] = mapped_column(String(40), default="", server_default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(60))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(60))
    # Written at most once a minute per key (payments/till_keys.py), not on every call.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
