"""The programme rules in force, for operators (`wx-member settings show`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.platform import settings


def current(uow: UnitOfWork) -> dict[str, int | str]:
    """Use case (read): every setting, stored or default."""
    with uow.read() as session:
        return settings.all_settings(session)
