"""The gift catalogue as operators list it (`wx-member points gift list`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.models import Gift
from wx_member.loyalty import gift_catalogue


def gifts(uow: UnitOfWork, include_inactive: bool = False) -> list[Gift]:
    """Use case (read): the gifts on offer (and, with `include_inactive`, those taken off)."""
    with uow.read() as session:
        return gift_catalogue.catalogue(session, include_inactive)
