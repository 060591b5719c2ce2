"""Leases: a row in the database that says which process may act, until when.

Taking or renewing is one conditional UPDATE (held by me, or free, or expired), so two
processes can never both succeed; the holder renews well before expiry and a standby takes
over once the holder has stopped renewing. Times come from each host's clock (UTC): hosts
must keep NTP time, and the lease's length dwarfs any skew NTP leaves.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, savepoint
from wx_member.models import SchedulerLease


def acquire(uow: UnitOfWork, name: str, holder: str, ttl: timedelta,
            now: datetime | None = None) -> bool:
    """Use case: take or renew the lease; True while `holder` has it."""
    now = now or utcnow()
    with uow.write() as session:
        took = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, or_(
                SchedulerLease.holder == holder, SchedulerLease.holder.is_(None),
                SchedulerLease.expires_at < now))
            # acquired_at first: MySQL evaluates SET left to right, with the new values.
            .ordered_values(
                (SchedulerLease.acquired_at, case((SchedulerLease.holder == holder,
                                                   SchedulerLease.acquired_at), else_=now)),
                (SchedulerLease.holder, holder), (SchedulerLease.expires_at, now + ttl),
                (SchedulerLease.renewed_at, now))
            .execution_options(synchronize_session=False)).rowcount == 1
        if took:
            return True
        if session.scalar(select(SchedulerLease.name)
                          .where(SchedulerLease.name == name)) is not None:
            return False
        try:  # a lease nobody has used yet (the migration seeds "scheduler")
            with savepoint(session):
                session.execute(insert(SchedulerLease).values(
                    name=name, holder=holder, expires_at=now + ttl, acquired_at=now,
                    renewed_at=now))
        except IntegrityError:  # another process made it first, and holds it
            return False
        return True


def release(uow: UnitOfWork, name: str, holder: str) -> None:
    """Use case: a clean stop hands over at once instead of after the lease expires."""
    with uow.write() as session:
        session.execute(update(SchedulerLease)
                        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
                        .values(holder=None, expires_at=utcnow())
                        .execution_options(synchronize_session=False))


def holder(uow: UnitOfWork, name: str) -> tuple[str | None, datetime | None]:
    """Use case (a read): who holds the lease `name`, until when."""
    with uow.read() as session:
        row = session.execute(select(SchedulerLease.holder, SchedulerLease.expires_at)
                              .where(SchedulerLease.name == name)).first()
    return (row.holder, row.expires_at) if row else (None, None)
