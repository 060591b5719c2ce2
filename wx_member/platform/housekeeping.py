"""Routine clean-up jobs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import InboundEvent, MemberCodeUse, RateLimitCounter

# WeChat retries within seconds; a week of dedup keys is ample and keeps the table small.
EVENT_KEEP = timedelta(days=7)


def prune_inbound_events(uow: UnitOfWork, keep: timedelta = EVENT_KEEP) -> int:
    """Use case: forget dedup keys older than `keep`. Returns how many were removed."""
    with uow.write() as session:
        return session.execute(delete(InboundEvent)
                               .where(InboundEvent.received_at < utcnow() - keep)).rowcount


def prune_rate_limit_counters(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Use case: delete the rate-limit rows (ratelimit_storage) whose every hit has left its
    window; they count nothing. A row a hit is renewing is locked by it, and the DELETE
    then sees its new expiry. Returns how many were removed."""
    with uow.write() as session:
        return session.execute(delete(RateLimitCounter)
                               .where(RateLimitCounter.expires_at < (now or utcnow()))).rowcount


def prune_member_code_uses(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Use case: forget the member codes spent at the till whose code has expired (it is
    refused as expired from then on). Returns how many were removed."""
    with uow.write() as session:
        return session.execute(delete(MemberCodeUse)
                               .where(MemberCodeUse.expires_at < (now or utcnow()))).rowcount
