"""Data rights (PIPL): the record of each export or erasure a member asked for.

Rules live in `members/privacy.py`; this class holds data only, and no personal data: the
member is a row id, which after an erasure points at an anonymised member.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class PrivacyRequest(Base):
    __tablename__ = "privacy_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # export | erase
    requested_by: Mapped[str] = mapped_column(String(60))  # the operator who handled it
    note: Mapped[str | None] = mapped_column(String(200))  # e.g. the ticket number
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
