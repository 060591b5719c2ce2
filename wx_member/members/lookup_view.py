"""A member found by what an operator types: an openid or a card number."""
from __future__ import annotations

from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.models import Member
from wx_member.members import membership


def find_in(session: Session, who: str) -> Member | None:
    """The member whose openid, or else whose card number (also a former one), is `who`."""
    return (membership.by_openid(session, who)
            or membership.by_card(session, who, refuse_lost=False))


def find(uow: UnitOfWork, who: str) -> Member | None:
    """Use case (read): `find_in` in its own read transaction; the member's columns stay
    loaded afterwards, for a write use case on the same unit of work."""
    with uow.read() as session:
        return find_in(session, who)
