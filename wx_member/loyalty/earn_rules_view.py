"""The dated earn rules as operators list them (`wx-member rules list`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.models import EarnRule
from wx_member.loyalty import earn_rules


def listed(uow: UnitOfWork, include_disabled: bool = False) -> list[EarnRule]:
    """Use case (read): the rules in force (and, with `include_disabled`, disabled ones)."""
    with uow.read() as session:
        return earn_rules.rules(session, include_disabled)
