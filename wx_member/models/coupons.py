"""Coupons: templates operators define, coupons issued to members, and the ledger of every
coupon state change.

Rules live in `coupons/templates.py`, `coupons/wallet.py` and `coupons/redeeming.py`; these
classes hold data only. Money is integer fen; times are naive UTC.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId, sparse_index


class CouponTemplate(Base):
    """What a coupon is worth and for how long. Kinds: `amount_off` (满减: `amount_off_fen`
    off an order of at least `min_spend_fen`), `percent_off` (折扣: `percent_off` % off,
    at most `cap_fen`), `item` (兑换: the named `item`). Validity is either a fixed window
    (`valid_from`..`valid_until`) or `valid_days` from the moment of issue."""

    __tablename__ = "coupon_template"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(12))  # amount_off | percent_off | item
    min_spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_off_fen: Mapped[int | None] = mapped_column(BigInteger)
    percent_off: Mapped[int | None] = mapped_column(Integer)  # 1..99
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)  # the most a percent_off takes
    item: Mapped[str | None] = mapped_column(String(60))
    min_tier: Mapped[str | None] = mapped_column(String(20))  # this tier or above; None: all
    valid_from: Mapped[datetime | None] = mapped_column(DateTime)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime)  # exclusive
    valid_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Stock: at most `stock_limit` coupons ever issued (None: unlimited). `issued_count`
    # is every coupon issued so far (void and expired included), moved by a conditional
    # UPDATE in the issuing transaction so two issues of the last one cannot both pass
    # (coupons/stock.py).
    stock_limit: Mapped[int | None] = mapped_column(Integer)
    issued_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CouponTemplateStore(Base):
    """The stores a template's coupons can be used in; a template with no row here is
    usable in every store (coupons/store_scope.py)."""

    __tablename__ = "coupon_template_store"

    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), primary_key=True, index=True)


class Coupon(Base):
    """One coupon in a member's wallet. `cause` (unique) is why it was issued
    (`signup:<member>`, `birthday:<member>:<year>`, `campaign:<key>:<member>`,
    `operator:<key>`): replaying a cause issues nothing."""

    __tablename__ = "coupon"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12))  # available | used | expired | void
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    valid_from: Mapped[datetime] = mapped_column(DateTime)
    valid_until: Mapped[datetime] = mapped_column(DateTime)  # exclusive
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_no: Mapped[str | None] = mapped_column(String(64))  # the order it was used on
    order_fen: Mapped[int | None] = mapped_column(BigInteger)
    discount_fen: Mapped[int | None] = mapped_column(BigInteger)

    # The expiry job's scan: available coupons by end of validity; a member's coupons (by
    # status and validity: the wallet's lists and every quote's usable coupons, which on
    # SQLite took the expiry job's index and walked the whole programme's before
    # migration 0038); a full refund's lookup of the coupons used on its order.
    __table_args__ = (Index("ix_coupon_status_until", "status", "valid_until"),
                      Index("ix_coupon_member_status_until", "member_id", "status",
                            "valid_until"),
                      sparse_index("ix_coupon_order_no", "order_no"))


class CouponEvent(Base):
    """Append-only: every state change of a coupon (issue, use, expiry, void, return on a
    full refund), once per `idem_key` (`issue:<cause>`, `redeem:<coupon>:<order>`,
    `expire:<coupon>`, `void:<coupon>`, `return:<coupon>:<refund no>`)."""

    __tablename__ = "coupon_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupon.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(12))  # None: issued
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(40))  # signup | birthday | monthly | campaign | operator
    # | redeem | expire | void | refund (given back: the order was fully refunded)
    idem_key: Mapped[str] = mapped_column(String(160), unique=True)
    order_no: Mapped[str | None] = mapped_column(String(64))
    discount_fen: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Where a till used it (the `redeem` event; None: not a till), so a till cancels only
    # its own store's sales. No foreign key: added in place (migration 0034).
    store_id: Mapped[int | None] = mapped_column(BigId)
