"""到店买单: a member paying a store from the mini-program (payments/store_payments.py).

One row per payment, whatever pays it (the stored-value balance, or WeChat Pay through a
`jsapi_order` of purpose `store_pay` with the same `out_trade_no`): what the member typed,
what their benefits, the coupon and the points made of it, and what was paid. The purchase
itself is the `pay_order` row of that number (points, spend, refunds); this row is what the
mini-program's result page and the store's cashier are shown, and it keeps the figures of
an unpaid WeChat Pay order, which has no `pay_order` yet.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class StorePayment(Base):
    __tablename__ = "store_payment"
    __table_args__ = (
        # The member's payments, and a store's (the till's list of self-payments).
        Index("ix_store_payment_member", "member_id", "id"),
        Index("ix_store_payment_store_paid", "store_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    pay_with: Mapped[str] = mapped_column(String(10))  # balance | wechat
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what the member typed
    # Of it, 不参与优惠: no benefit, coupon or points on it (0: none; migration 0036).
    undiscounted_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The rest after the tier / member-day benefit, plus undiscounted_fen.
    member_fen: Mapped[int] = mapped_column(BigInteger)
    benefit: Mapped[str | None] = mapped_column(String(40))  # its Chinese label
    benefit_kind: Mapped[str | None] = mapped_column(String(20))  # tier | member_day | ...
    coupon_code: Mapped[str | None] = mapped_column(String(20))
    coupon_saving_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_used: Mapped[int] = mapped_column(BigInteger, default=0)
    points_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    # created (waiting for WeChat Pay) | paid | closed | failed: the coupon and points of a
    # closed or failed one were given back (`returned_at`).
    status: Mapped[str] = mapped_column(String(12))
    points_earned: Mapped[int | None] = mapped_column(Integer)
    balance_after_fen: Mapped[int | None] = mapped_column(BigInteger)  # stored value after
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime)
