"""What WeChat Pay says of the orders we created (payments/wxpay_orders.py): a verified
notify credited by what the order bought (stored value, or a paid membership), a query
acted on (paid → credited, closed there → closed here), the member cancelling, and the
scheduler's reconciliation.

WeChat Pay is never called inside a transaction: each use case here reads or writes, calls
WeChat Pay, then writes. A payment whose notify is lost is found by `reconcile` (the
scheduler, every minute, for orders unpaid after `RECONCILE_AFTER`); a notify for an order
we closed is checked against WeChat Pay before anything is credited (`record_notified`).
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.errors import DomainError
from wx_member.models import JsapiOrder
from wx_member.payments import paid_memberships, store_payments, stored_value
from wx_member.payments.order_errors import OrderMismatch
from wx_member.payments.wxpay_orders import (RECONCILE_AFTER, STORE_PAY, OrderNotOpen,
                                             OrderView, order_by_no, order_of, settle)
from wx_member.wechat.pay import PaymentNotice
from wx_member.wechat.pay_client import PayApiError, WeChatPayClient

log = logging.getLogger(__name__)


def record_notified(uow: UnitOfWork, client: WeChatPayClient | None,
                    notice: PaymentNotice, *, tz: ZoneInfo | None = None):
    """Use case: a verified recharge notify. An order we closed meanwhile is checked against
    WeChat Pay first (a close and a payment can cross): credited only if WeChat Pay says it
    was paid; never twice (stored value is keyed by out_trade_no)."""
    with uow.read() as session:
        order = order_by_no(session, notice.out_trade_no)
        closed = order is not None and order.status in ("closed", "failed")
    if closed and notice.success:
        if client is None:
            raise OrderMismatch(f"notify of closed order {notice.out_trade_no}")
        txn = client.query(notice.out_trade_no)
        if txn.trade_state not in ("SUCCESS", "REFUND"):
            raise OrderMismatch(f"notify of closed order {notice.out_trade_no}: WeChat Pay "
                                f"says {txn.trade_state}")
        log.warning("order %s was paid after we closed it; WeChat Pay confirms: crediting",
                    notice.out_trade_no)
    return credit(uow, notice, tz=tz)


def credit(uow: UnitOfWork, notice: PaymentNotice, now: datetime | None = None, *,
           tz: ZoneInfo | None = None):
    """Use case: credit a verified payment of one of our orders by what it bought (its
    `attach`): stored value, a paid membership, or a purchase at a store (到店买单). Once
    per out_trade_no each way."""
    if paid_memberships.is_membership(notice.attach):
        return paid_memberships.record_paid(uow, notice, now=now,
                                            tz=tz or paid_memberships.DEFAULT_TZ)
    if notice.attach == STORE_PAY:
        return store_payments.record_paid(uow, notice, now=now,
                                          tz=tz or paid_memberships.DEFAULT_TZ)
    return stored_value.record_recharge(uow, notice, now=now)


def settle_with_wechat(uow: UnitOfWork, client: WeChatPayClient, no: str, *, close: bool,
                       now: datetime | None = None, tz: ZoneInfo | None = None) -> str:
    """Use case: ask WeChat Pay about order `no` and act: paid → credited (once), closed
    there → closed here; still unpaid and `close` → closed at WeChat Pay, then here.
    Returns what happened: paid, closed or unpaid."""
    txn = client.query(no)
    if txn.trade_state in ("SUCCESS", "REFUND"):
        credit(uow, txn.notice(), now=now, tz=tz)
        return "paid"
    if txn.trade_state in ("CLOSED", "REVOKED"):
        settle(uow, no, "closed", now=now)
        return "closed"
    if not close:
        settle(uow, no, "created", now=now)
        return "unpaid"
    try:
        client.close(no)
    except PayApiError as exc:
        if exc.wx_code != "ORDERPAID":
            raise
        log.warning("order %s: paid while we closed it", no)
        return settle_with_wechat(uow, client, no, close=False, now=now, tz=tz)
    settle(uow, no, "closed", now=now)
    return "closed"


def cancel(uow: UnitOfWork, client: WeChatPayClient, member_id: int, no: str, *,
           tz: ZoneInfo | None = None) -> OrderView:
    """Use case: the member gives up paying order `no` (closed at WeChat Pay; one paid
    meanwhile is credited instead)."""
    view = order_of(uow, member_id, no)
    if view.status != "created":
        raise OrderNotOpen(f"order {no} is {view.status}")
    settle_with_wechat(uow, client, no, close=True, tz=tz)
    return order_of(uow, member_id, no)


def reconcile(uow: UnitOfWork, client: WeChatPayClient, now: datetime | None = None,
              limit: int = 200, *, tz: ZoneInfo | None = None) -> Counter[str]:
    """Use case (the scheduler's): orders still `created` after RECONCILE_AFTER are
    queried; paid ones are credited once, those past OPEN_FOR closed."""
    now = now or utcnow()
    with uow.read() as session:
        due = session.execute(select(JsapiOrder.out_trade_no, JsapiOrder.expires_at).where(
            JsapiOrder.status == "created", JsapiOrder.prepay_id.is_not(None),
            JsapiOrder.created_at <= now - RECONCILE_AFTER)
            .order_by(JsapiOrder.created_at).limit(limit)).all()
    outcome: Counter[str] = Counter()
    for no, expires_at in due:
        try:
            outcome[settle_with_wechat(uow, client, no, close=now >= expires_at, now=now,
                                       tz=tz)] += 1
        except DomainError as exc:  # one order's trouble does not stop the others
            log.warning("reconciling order %s: %s", no, exc)
            outcome["error"] += 1
    if due:
        log.info("WeChat Pay reconciliation: %s", dict(outcome))
    return outcome
