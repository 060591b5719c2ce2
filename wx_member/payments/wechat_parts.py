"""A WeChat Pay transaction is credited once, whether it reaches us as a notify
(/pay/notify, payments/orders.py) or as a `wechat` part of a till's purchase
(payments/till_orders.py) that names it, or both, in any order.

The claim is a `payment_part` row carrying the transaction's `out_trade_no` and
`transaction_id`, both unique: the order recorded from a notify gets one, a till's WeChat
part gets one. Whichever is inserted first credits the money; the other is told so: a
notify arriving second is acknowledged without crediting (`claimed_by`), a till purchase
arriving second records its part without the ids, `credited_by` the notify's order, and
earns nothing on that part. Two at the same moment: the unique keys refuse the later
insert (it waits for the first transaction on MariaDB), which runs again and sees the first.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.db import savepoint
from wx_member.models import Order, PaymentPart


class ClaimedMeanwhile(Exception):
    """Another transaction claimed the WeChat transaction since we looked: run again."""


def _matching(model, out_trade_no: str | None, transaction_id: str | None):
    conditions = []
    if out_trade_no:
        conditions.append(model.out_trade_no == out_trade_no)
    if transaction_id:
        conditions.append(model.transaction_id == transaction_id)
    return or_(*conditions) if conditions else None


def claimed_by(session: Session, out_trade_no: str | None,
               transaction_id: str | None) -> Order | None:
    """The order whose payment part already claims the transaction, if any."""
    where = _matching(PaymentPart, out_trade_no, transaction_id)
    if where is None:
        return None
    order_id = session.scalar(select(PaymentPart.order_id).where(where).limit(1))
    return session.get(Order, order_id) if order_id is not None else None


def credited_elsewhere(session: Session, out_trade_no: str | None,
                       transaction_id: str | None) -> Order | None:
    """For a till's WeChat part: the order that credited the transaction first (a notify's,
    or another till purchase's), if any; also an order recorded before parts existed."""
    found = claimed_by(session, out_trade_no, transaction_id)
    if found is not None:
        return found
    where = _matching(Order, out_trade_no, transaction_id)
    return None if where is None else session.scalar(select(Order).where(where).limit(1))


def claim(session: Session, order: Order, amount_fen: int, out_trade_no: str | None,
          transaction_id: str | None, credited_by: str | None = None) -> None:
    """The order's WeChat part, claiming the transaction (unless `credited_by`: then it is
    recorded without the ids). Raises ClaimedMeanwhile when another claimed it first."""
    part = PaymentPart(order_id=order.id, method="wechat", amount_fen=amount_fen,
                       out_trade_no=None if credited_by else out_trade_no,
                       transaction_id=None if credited_by else transaction_id,
                       credited_by=credited_by)
    try:
        with savepoint(session):
            session.add(part)
            session.flush()
    except IntegrityError:
        raise ClaimedMeanwhile(f"WeChat transaction {out_trade_no}/{transaction_id}") from None
