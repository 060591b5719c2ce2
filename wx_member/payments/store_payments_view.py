"""A store's 到店买单 payments for its tills (`GET /till/v1/self-payments`): what members
paid this store from the mini-program, newest first, so the cashier can confirm the payment
a member shows (the number, a masked card number, what was paid and how, when). A read."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.members.referral_codes import mask_card
from wx_member.models import Member, StorePayment

DEFAULT_SINCE = timedelta(hours=24)
MOST = 100


def paid_at_store(uow: UnitOfWork, store_id: int, since: datetime | None = None,
                  limit: int = 50, now: datetime | None = None) -> list[dict]:
    """Use case (a read): store `store_id`'s paid store payments since `since` (UTC; by
    default the last 24 hours), newest first, at most `limit` (≤ 100)."""
    since = since or (now or utcnow()) - DEFAULT_SINCE
    with uow.read() as session:
        rows = session.execute(
            select(StorePayment, Member.card_no).join(Member, Member.id == StorePayment.member_id)
            .where(StorePayment.store_id == store_id, StorePayment.status == "paid",
                   StorePayment.paid_at >= since)
            .order_by(StorePayment.paid_at.desc(), StorePayment.id.desc())
            .limit(min(limit, MOST))).all()
        return [{"out_trade_no": p.out_trade_no, "card_no": mask_card(card_no),
                 "amount_fen": p.amount_fen, "undiscounted_fen": p.undiscounted_fen,
                 "payable_fen": p.payable_fen,
                 "pay_with": p.pay_with, "paid_at": p.paid_at} for p, card_no in rows]
