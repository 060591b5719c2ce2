"""Card numbers over a member's life: the numbers they held before (`card_history`), a lost
card blocked and a new number issued (会员卡挂失 / 补卡), and what the till makes of a
number: the member it belongs to, or a clear refusal for a lost one.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.models import CardHistory


def history_rows(session: Session, member_id: int) -> list[dict]:
    """The numbers the member held before, oldest first (their export, their profile)."""
    return [{"card_no": h.card_no, "kind": h.kind, "by": h.by,
             "at": h.at.isoformat() + "Z"}
            for h in session.scalars(select(CardHistory).where(CardHistory.member_id == member_id)
                                     .order_by(CardHistory.id))]
