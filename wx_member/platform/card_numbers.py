"""What an old card number names: the till, the member code and the console look a number
up by `member.card_no`; when it is not (or no longer) there, `card_history` says why.

- `lost` (挂失): refused with CardLost, whose message tells the cashier to use the new card;
- `merged`: the number of a duplicate member merged into another (members/merging.py) still
  finds the surviving member.

Several areas look cards up (members, coupons' holder, payments through it), hence here,
beside the member lock.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.models import CardHistory, Member
from wx_member.platform.errors import DomainError


class CardLost(DomainError):
    code = "CARD_LOST"
    user_message = "该会员卡已挂失，不能使用。请出示补办后的新卡或刷新会员码。"


def former(session: Session, card_no: str) -> CardHistory | None:
    return session.scalar(select(CardHistory).where(CardHistory.card_no == card_no))


def member_of_former(session: Session, card_no: str, refuse_lost: bool = True,
                     lock: bool = False) -> Member | None:
    """The member an old number names (None: never a card number here). Raises CardLost
    for a lost card unless `refuse_lost` is False (an operator looking the member up, a
    referral code printed with the old number)."""
    row = former(session, card_no)
    if row is None:
        return None
    if row.kind == "lost" and refuse_lost:
        raise CardLost(f"card {card_no} was reported lost")
    stmt = select(Member).where(Member.id == row.member_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)
