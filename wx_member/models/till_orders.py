"""What a till's purchase records besides its `pay_order` row: the lines bought, how it was
paid, and the till's request (its idempotency key and first answer).

Rules live in `payments/till_orders.py`; these classes hold data only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class OrderLine(Base):
    """One line of a purchase: `amount_fen` is what the line cost after the member's
    benefits (before coupons and points, which are the order's)."""

    __tablename__ = "order_line"
    __table_args__ = (Index("ix_order_line_sku", "sku"),
                      Index("ix_order_line_category", "category"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("pay_order.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)  # the till's list price
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    benefit: Mapped[str | None] = mapped_column(String(20))  # member_price | tier | member_day
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PaymentPart(Base):
    """How much of an order one means paid: wechat | alipay | cash | card | balance.
    A WeChat Pay part names its transaction (`out_trade_no`, `transaction_id`, both unique),
    and so does the part of an order recorded from a WeChat Pay notify: the transaction is
    credited by whichever order claims it first."""

    __tablename__ = "payment_part"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("pay_order.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    out_trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A WeChat part whose transaction another order credited first (its notify): that order.
    credited_by: Mapped[str | None] = mapped_column(String(64))


class TillRequest(Base):
    """A till's order or refund request, once per `idem_key` (`order:<no>`,
    `refund:<no>`): the hash of its body and the first answer, returned to a retry."""

    __tablename__ = "till_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(160), unique=True)
    store_id: Mapped[int | None] = mapped_column(BigId)
    body_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
