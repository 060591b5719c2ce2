"""The dated earn rules as operators list them (`wx-member rules list`)."""
from __future__ import annotations

import calendar
from datetime import date

from wx_member.db import UnitOfWork
from wx_member.models import EarnRule
from wx_member.loyalty import earn_rules


def listed(uow: UnitOfWork, include_disabled: bool = False) -> list[EarnRule]:
    """Use case (read): the rules in force (and, with `include_disabled`, disabled ones)."""
    with uow.read() as session:
        return earn_rules.rules(session, include_disabled)


def month(uow: UnitOfWork, year: int, month_no: int) -> list[list[tuple[date, earn_rules.Multiplier] | None]]:
    """Use case (read): a month calendar, Monday first, each day with the multiplier a
    payment on it earns (the rule that wins); None pads the first and last weeks."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month_no)
    with uow.read() as session:
        return [[(d, earn_rules.multiplier_on(session, d)) if d.month == month_no else None
                 for d in week] for week in weeks]
