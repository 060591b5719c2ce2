"""Coupon templates as operators list them (`wx-member coupon template list`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.coupons import templates


def all_templates(uow: UnitOfWork) -> list[dict]:
    """Use case (read): every template, active or not, as `templates.as_dict` shows it."""
    with uow.read() as session:
        return [templates.as_dict(t) for t in templates.all_templates(session)]
