"""Coupon templates as operators list them (`wx-member coupon template list`)."""
from __future__ import annotations

from sqlalchemy import func, select

from wx_member.db import UnitOfWork
from wx_member.models import Coupon
from wx_member.coupons import templates


def all_templates(uow: UnitOfWork) -> list[dict]:
    """Use case (read): every template, active or not, as `templates.as_dict` shows it."""
    with uow.read() as session:
        return [templates.as_dict(t) for t in templates.all_templates(session)]


def usage(uow: UnitOfWork) -> dict[int, dict[str, int]]:
    """Use case (read): per template, its coupons by status (available, used, expired,
    void) and in all ("issued"): what the console lists beside each template."""
    out: dict[int, dict[str, int]] = {}
    with uow.read() as session:
        for template_id, status, n in session.execute(
                select(Coupon.template_id, Coupon.status, func.count())
                .group_by(Coupon.template_id, Coupon.status)):
            counts = out.setdefault(template_id, {"issued": 0})
            counts[status] = int(n)
            counts["issued"] += int(n)
    return out


def rows(uow: UnitOfWork) -> list:
    """Use case (read): every template as its row, oldest first (the console's list)."""
    with uow.read() as session:
        return templates.all_templates(session)
