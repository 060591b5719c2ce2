"""One member's whole profile, looked up by what an operator types (`wx-member member
show`): `reports.member_profile` of the member with that openid or card number."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.insights import reports
from wx_member.members import lookup_view


def member_report(uow: UnitOfWork, who: str, ledger_limit: int = 100) -> dict | None:
    """Use case (read): the profile of the member whose openid or card number is `who`;
    None if there is none."""
    with uow.read() as session:
        member = lookup_view.find_in(session, who)
        return None if member is None else reports.member_profile(session, member, ledger_limit)
