"""Where the pushes stand: deliveries counted by kind and status (`wx-member push status`)."""
from __future__ import annotations

from sqlalchemy import func, select

from wx_member.db import UnitOfWork
from wx_member.models import Delivery


def delivery_counts(uow: UnitOfWork) -> list[tuple[str, str, int]]:
    """Use case (read): (kind, status, deliveries), ordered by kind and status."""
    with uow.read() as session:
        rows = session.execute(select(Delivery.kind, Delivery.status, func.count())
                               .group_by(Delivery.kind, Delivery.status)
                               .order_by(Delivery.kind, Delivery.status)).all()
    return [(kind, status, n) for kind, status, n in rows]


def outcome_reasons(uow: UnitOfWork, kind: str, occasion: str) -> list[tuple[str, str, int]]:
    """Use case (read): why one occasion's deliveries (a campaign's) were skipped or failed:
    (status, error as stored, deliveries), most frequent first; dry runs excluded."""
    with uow.read() as session:
        rows = session.execute(
            select(Delivery.status, Delivery.error, func.count())
            .where(Delivery.kind == kind, Delivery.occasion == occasion,
                   Delivery.dry_run.is_(False), Delivery.status.in_(("skipped", "failed", "unknown")))
            .group_by(Delivery.status, Delivery.error)
            .order_by(func.count().desc())).all()
    return [(status, error or "", int(n)) for status, error, n in rows]
