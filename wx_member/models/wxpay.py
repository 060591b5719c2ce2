"""WeChat Pay orders we create (JSAPI, inside the mini-program): a row before WeChat Pay
is called, so a payment whose notify never arrives is still found and queried.

`out_trade_no` is the same number the paid order (`pay_order`) gets once the payment is
credited; `bonus_fen` is fixed when the order is created, so an operator changing the
recharge ladder meanwhile does not change what this order gives (payments/wxpay_orders.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class JsapiOrder(Base):
    __tablename__ = "jsapi_order"
    __table_args__ = (
        # The reconciliation job's walk (unpaid and old enough), and a member's open orders
        # from the last minute (a second tap: migration 0041).
        Index("ix_jsapi_order_status_created", "status", "created_at"),
        Index("ix_jsapi_order_member_status_created", "member_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    appid: Mapped[str] = mapped_column(String(32))  # the mini-program's
    openid: Mapped[str] = mapped_column(String(64))  # the payer under that appid
    purpose: Mapped[str] = mapped_column(String(12))  # recharge
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The ladder rung chosen (None: an amount typed in): a second tap within a minute
    # returns the open order of the same rung instead of a new one.
    option_fen: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(127))
    attach: Mapped[str] = mapped_column(String(127))
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    # created (waiting for WeChat Pay or the payer) | paid | closed | failed
    status: Mapped[str] = mapped_column(String(12), default="created")
    error: Mapped[str | None] = mapped_column(String(64))  # WeChat Pay's code, for operators
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)  # last query to WeChat Pay


class RechargeRefund(Base):
    """A refund of a recharge the shop started (payments/recharge_refunds.py): the money
    leaves the balance when it is asked for (bonus first, then the cash refunded), WeChat
    Pay's refund notify completes it; a refusal by WeChat Pay puts the money back."""

    __tablename__ = "recharge_refund"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # cash back to the payer
    bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # bonus taken back
    # requested (money held) | processing (WeChat Pay accepted) | succeeded | failed
    status: Mapped[str] = mapped_column(String(12), default="requested")
    error: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
