"""Identity: one person, one member. Member codes spent at the till, and the card numbers a
member held before (lost cards, merged duplicates).

Rules live in `members/member_codes.py`, `members/cards.py` and `members/merging.py`;
these classes hold data only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class MemberCodeUse(Base):
    """A member code spent at the till: the primary key makes a code single use under
    concurrency (two tills racing insert one row, the loser sees the winner's). The code is
    bound to the order it was spent on, so the till's retry of that order still answers.
    Rows are worthless once the code expired; housekeeping deletes them."""

    __tablename__ = "member_code_use"
    __table_args__ = (Index("ix_member_code_use_expires_at", "expires_at"),)

    # sha256 of the signed claims (subject and issue time), so no re-encoding of the token
    # passes as another code, and no card number is stored here.
    code_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CardHistory(Base):
    """A card number a member held before and what became of it: `lost` (挂失: refused at
    the till, a new number was issued) or `merged` (the number of a duplicate member merged
    into this one: still finds this member). The number stays unique across `member` and
    here, so it is never given to anyone else."""

    __tablename__ = "card_history"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    card_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # lost | merged
    by: Mapped[str] = mapped_column(String(60))  # operator, "member" or "auto"
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MemberMerge(Base):
    """One duplicate member (`absorbed`) merged into another (`survivor`): why, by whom,
    and a snapshot of what moved (the rows re-pointed, the fields taken over), which is
    what undoing it within 7 days puts back. `undone_at` set: undone."""

    __tablename__ = "member_merge"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reason: Mapped[str] = mapped_column(String(10))  # unionid | phone | operator
    by: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    snapshot: Mapped[dict] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[str | None] = mapped_column(String(60))
