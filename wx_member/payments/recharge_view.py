"""The recharge ladder as operators list it (`wx-member balance options`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.payments.balance_view import RechargeChoice, recharge_choices


def recharge_ladder(uow: UnitOfWork) -> list[RechargeChoice]:
    """Use case (read): the active rungs of the ladder, lowest first (充500送50, ...)."""
    with uow.read() as session:
        return recharge_choices(session)
