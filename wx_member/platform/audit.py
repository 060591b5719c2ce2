"""The audit log: who changed what, when, before and after.

`record` is called by a use case inside its own transaction, so a change and its audit
row are committed together or not at all. Use cases of every area record here (settings,
points, channels, imports, campaigns, the console's own), so it sits in platform, below
them all; the console shows it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import AuditLog


def record(session: Session, actor: str, action: str, target: str, before: Any = None,
           after: Any = None, now: datetime | None = None) -> None:
    session.execute(insert(AuditLog).values(at=now or utcnow(), actor=actor[:60],
                                            action=action, target=str(target)[:100],
                                            before=before, after=after))


def recent(uow: UnitOfWork, limit: int = 100, action_prefix: str | None = None,
           target: str | None = None) -> list[AuditLog]:
    """Use case (a read): the newest entries, optionally of actions starting with
    `action_prefix` or of one `target`."""
    with uow.read() as session:
        return entries(session, limit, action_prefix, target)


def entries(session: Session, limit: int = 100, action_prefix: str | None = None,
            target: str | None = None) -> list[AuditLog]:
    """In the caller's transaction: as `recent`."""
    q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action_prefix:
        q = q.where(AuditLog.action.startswith(action_prefix))
    if target:
        q = q.where(AuditLog.target == target)
    return list(session.scalars(q))
