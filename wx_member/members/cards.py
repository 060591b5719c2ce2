"""Card numbers over a member's life: the numbers they held before (`card_history`), a lost
card blocked and a new number issued (会员卡挂失 / 补卡), and what the till makes of a
number: the member it belongs to, or a clear refusal for a lost one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from stdnum import luhn

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.members.membership import CARD_PREFIX
from wx_member.models import CardHistory, Member
from wx_member.platform import audit, card_numbers
from wx_member.platform.errors import DomainError, UnknownMember
from wx_member.platform.ledger import lock_member


def history_rows(session: Session, member_id: int) -> list[dict]:
    """The numbers the member held before, oldest first (their export, their profile)."""
    return [{"card_no": h.card_no, "kind": h.kind, "by": h.by,
             "at": h.at.isoformat() + "Z"}
            for h in session.scalars(select(CardHistory).where(CardHistory.member_id == member_id)
                                     .order_by(CardHistory.id))]


# -- loss and reissue -------------------------------------------------------------------
@dataclass(frozen=True)
class Reissue:
    member_id: int
    old_card_no: str
    card_no: str  # the new one


class CardNotReissuable(DomainError):
    code = "CARD_NOT_REISSUABLE"
    user_message = "该会员卡不能补办（会员已注销或已合并）。"


def reissued_number(member_id: int, n: int) -> str:
    """The member's n-th replacement card (n >= 1): the original number's body, two digits
    of n, a Luhn check digit. Twelve digits, so never another member's first number (ten);
    derived from the never-reused id, so never anyone else's."""
    body = f"{CARD_PREFIX}{member_id:08d}{n:02d}"
    return body + luhn.calc_check_digit(body)


def report_lost(uow: UnitOfWork, who: str | int, by: str,
                now: datetime | None = None) -> Reissue:
    """Use case: block the card of member `who` (their id, from the mini-program, or what
    an operator types: openid or card number, also the lost one) and issue a new number,
    in one transaction, audited. The old number is kept in the card history: the till
    refuses it (CardLost) and member codes signed with it, the console still finds the
    member by it."""
    now = now or utcnow()
    with uow.write() as session:
        member = _locked(session, who)
        if member.erased_at is not None or not member.card_no:
            raise CardNotReissuable(f"member {member.id} has no card to reissue")
        old = member.card_no
        n = 1 + session.scalar(select(func.count()).select_from(CardHistory).where(
            CardHistory.member_id == member.id, CardHistory.kind == "lost"))
        new = reissued_number(member.id, n)
        session.add(CardHistory(member_id=member.id, card_no=old, kind="lost", by=by[:60],
                                at=now))
        member.card_no = new
        session.flush()
        audit.record(session, by, "card.lost", new, {"card_no": old}, {"card_no": new}, now)
    return Reissue(member.id, old, new)


def _locked(session: Session, who: str | int) -> Member:
    if isinstance(who, int):
        where = Member.id == who
    else:
        who = who.strip()
        where = or_(Member.openid == who, Member.mini_openid == who, Member.card_no == who)
    member = lock_member(session, where)
    if member is None and isinstance(who, str):
        former = card_numbers.member_of_former(session, who, refuse_lost=False)
        member = lock_member(session, Member.id == former.id) if former else None
    if member is None:
        raise UnknownMember(f"no member {who!r}")
    return member
