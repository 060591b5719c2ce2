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
