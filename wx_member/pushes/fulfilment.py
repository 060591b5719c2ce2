"""Order fulfilment reported by the shop system: shipped, then delivered.

Both use cases are idempotent: the shop system retries on a timeout, so a repeat of a call
that already took effect answers as before and changes nothing. A call that contradicts
what is recorded (delivered before shipped, shipped again under another tracking number,
anything on a fully refunded order) is refused with nothing written.

Shipping plans the member's 发货提醒 (`order_shipped`) in the same transaction that
records it: once the shop has been told "shipped", the reminder exists as a delivery row
and the sender delivers it (quiet hours apply: see templates_msg/order_shipped.toml).
Delivery only records the time; the usage guide is planned the next day by
`order_planners.plan_order_guide`. Here in pushes rather than payments because shipping
plans a push: payments stay below pushes (campaigns target insights' segments, and
insights read payments).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Order
from wx_member.pushes.definitions import PushKind
from wx_member.platform.errors import DomainError
from wx_member.pushes.order_planners import order_occasion, order_values
from wx_member.pushes.fanout import plan_member

log = logging.getLogger(__name__)
SHIPPED_KIND = "order_shipped"
CARRIER_MAX, TRACKING_MAX = 40, 64  # the columns' lengths


class OrderNotFound(DomainError):
    code = "ORDER_NOT_FOUND"
    user_message = "订单不存在。"


class WrongOrderState(DomainError):
    code = "WRONG_ORDER_STATE"
    user_message = "订单当前状态不允许此操作。"


class InvalidShipment(DomainError):
    code = "INVALID_SHIPMENT"
    user_message = "快递公司或运单号无效。"


@dataclass
class FulfilmentResult:
    order: Order
    changed: bool  # False: a repeat of what was already recorded
    # The shipping reminder: queued (planned now) | unreachable (not following, blocked)
    # | no member (a walk-in payer) | disabled (the kind is not configured) | None
    reminder: str | None = None


def _clean(value: str | None, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidShipment(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if len(value) > limit or any(not ch.isprintable() for ch in value):
        raise InvalidShipment(f"{name} must be at most {limit} printable characters")
    return value or None


def _locked_order(session: Session, out_trade_no: str) -> Order:
    order = session.scalar(select(Order).where(Order.out_trade_no == out_trade_no)
                           .with_for_update().execution_options(populate_existing=True))
    if order is None:
        raise OrderNotFound(f"no order {out_trade_no!r}")
    if order.status == "refunded":
        raise WrongOrderState(f"order {out_trade_no} was refunded in full",
                              user_message="订单已全额退款。")
    return order


def mark_shipped(uow: UnitOfWork, pushes: Mapping[str, PushKind], cfg: Config,
                 out_trade_no: str, carrier: str | None = None,
                 tracking_no: str | None = None, now: datetime | None = None
                 ) -> FulfilmentResult:
    """Use case: the shop shipped an order. Records it and plans the shipping reminder.
    Repeating it (with the same or no carrier and tracking number) changes nothing."""
    carrier = _clean(carrier, "carrier", CARRIER_MAX)
    tracking_no = _clean(tracking_no, "tracking_no", TRACKING_MAX)
    now = now or utcnow()
    with uow.write() as session:
        order = _locked_order(session, out_trade_no)
        if order.shipped_at is not None:
            if (carrier or order.carrier) != order.carrier or (
                    tracking_no or order.tracking_no) != order.tracking_no:
                raise WrongOrderState(
                    f"order {out_trade_no} already shipped as {order.carrier} "
                    f"{order.tracking_no}", user_message="订单已按其他运单发货。")
            return FulfilmentResult(order, changed=False)
        order.shipped_at, order.carrier, order.tracking_no = now, carrier, tracking_no
        return FulfilmentResult(order, changed=True,
                                reminder=_plan_reminder(session, pushes, cfg, order, now))


def _plan_reminder(session: Session, pushes: Mapping[str, PushKind], cfg: Config,
                   order: Order, now: datetime) -> str:
    push = pushes.get(SHIPPED_KIND)
    if order.member_id is None:
        return "no member"
    if push is None or push.disabled:
        log.warning("order %s shipped; no reminder: %s", order.out_trade_no,
                    push.disabled if push else f"no {SHIPPED_KIND} definition")
        return "disabled"
    reached = plan_member(session, push, order.member_id, order_occasion(order.out_trade_no),
                          order_values(order), cfg, now)
    return "queued" if reached else "unreachable"


def mark_delivered(uow: UnitOfWork, out_trade_no: str,
                   now: datetime | None = None) -> FulfilmentResult:
    """Use case: the order reached the member (the usage guide follows the next day).
    Refused before it was shipped; repeating it changes nothing."""
    now = now or utcnow()
    with uow.write() as session:
        order = _locked_order(session, out_trade_no)
        if order.shipped_at is None:
            raise WrongOrderState(f"order {out_trade_no} has not been shipped",
                                  user_message="订单尚未发货。")
        if order.delivered_at is not None:
            return FulfilmentResult(order, changed=False)
        order.delivered_at = max(now, order.shipped_at)
        return FulfilmentResult(order, changed=True)
