"""Pushes: deliveries (one row per message a member is to receive), who cannot be reached
on which channel, mini-program subscription grants, the scheduler's lease and the shared
access token.

Rules live in `pushes/deliveries.py`, `pushes/planners.py` and `platform/leases.py`;
these classes hold data only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId

# queued → sending → sent → delivered | failed; queued → skipped (never sent: unreachable,
# no grant, outside the 48 h window, frequency cap); sending → unknown (the process died or
# the call timed out mid-request: WeChat may have the message, so it is not sent again).
STATUSES = ("queued", "sending", "sent", "delivered", "failed", "skipped", "unknown")


class Delivery(Base):
    """A push is this row before it is an HTTP call. (openid, kind, occasion) is unique:
    planning the same occasion twice, in two processes or after a restart, adds nothing."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("openid", "kind", "occasion", name="uq_delivery_occasion"),
        # The sender's claim: due rows by status and time.
        Index("ix_delivery_due", "status", "next_attempt_at"),
        # The frequency cap: a member's recent pushes.
        Index("ix_delivery_member_recent", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # None for a dry run's test recipient, who need not be a member.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    openid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    occasion: Mapped[str] = mapped_column(String(80))  # e.g. 2026:spring_festival
    channel: Mapped[str] = mapped_column(String(12))  # template | subscribe | custom
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # ignores quiet hours
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict] = mapped_column(JSON)  # the rendered request body, minus touser
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))  # which sender batch holds it
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    msgid: Mapped[int | None] = mapped_column(BigInteger, index=True)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A mass-send row: the call (mass_job) that carries it, with up to 10,000 others.
    mass_job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class MemberReach(Base):
    """A member WeChat told us cannot be reached on a channel (43004 not following,
    'failed:user block'): later pushes on that channel are not planned for them."""

    __tablename__ = "member_reach"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    reason: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SubscribeGrant(Base):
    """One-time subscribe messages a member accepted in the mini-program, per template:
    each send uses one (WeChat refuses with 43101 when none is left)."""

    __tablename__ = "subscribe_grant"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SchedulerLease(Base):
    """Who may run scheduled jobs: the holder until `expires_at`, renewed while alive; a
    standby process takes the lease over once it has expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(DateTime)


class TokenCache(Base):
    """The access token every process shares. A new fetch retires the previous token after
    a few minutes, so only the holder of `refreshing_until` fetches (see wechat/tokens.py)."""

    __tablename__ = "token_cache"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(1024))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    refreshing_until: Mapped[datetime | None] = mapped_column(DateTime)
    refresher: Mapped[str | None] = mapped_column(String(100))
