"""Points redemption: the gift catalogue and every redemption (a gift or cash off an order).

Rules live in `loyalty/redemption.py` and `loyalty/gift_catalogue.py`; these classes hold
data only. The points themselves move only through the ledger (`points_ledger`); a
redemption row records what the points bought, under the same idempotency key as its ledger
row.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary,
                        String)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId


class Gift(Base):
    """Something members can take for points. `stock` never goes below zero: a redemption
    decrements it with `... WHERE stock >= n`, so the database refuses the last one too many."""

    __tablename__ = "gift"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(BigInteger)  # cost of one
    stock: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GiftImage(Base):
    """A gift's picture, stored by the app (no CDN): checked and sized by
    `loyalty/gift_images.py`, served at a URL named by `digest` (so a new picture is a new
    URL and the old one may be cached for good). Not personal: a picture of a product."""

    __tablename__ = "gift_image"

    gift_id: Mapped[int] = mapped_column(ForeignKey("gift.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(20))  # image/png | image/jpeg | image/webp
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of data, hex
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Up to 1 MB: MariaDB's BLOB holds 64 KB, MEDIUMBLOB 16 MB.
    data: Mapped[bytes] = mapped_column(
        LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class PointsRedemption(Base):
    """What a debit of points bought: `kind` gift (gift_id × quantity) or cash_off (fen_off
    off order `order_no` of `order_amount_fen`). `idem_key` is the ledger row's key."""

    __tablename__ = "points_redemption"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # gift | cash_off
    idem_key: Mapped[str] = mapped_column(String(160), unique=True)
    points: Mapped[int] = mapped_column(BigInteger)  # taken from the balance
    gift_id: Mapped[int | None] = mapped_column(ForeignKey("gift.id"))
    quantity: Mapped[int | None] = mapped_column(Integer)
    order_no: Mapped[str | None] = mapped_column(String(64))
    order_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    fen_off: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A cash-off reversed (its order never paid or cancelled): the points came back as the
    # ledger row `cashoff-cancel:<order_no>`; the order cannot be paid with points again.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(100))
    # The store whose till took the points (None: not a till), so a till cancels only its
    # own store's sales. No foreign key: added in place (migration 0034).
    store_id: Mapped[int | None] = mapped_column(BigId)


class PointsExpiryMark(Base):
    """A finished points expiry run (loyalty/expiry_run.py), so the next one reads only what
    changed since: after it, no member had points due at `cutoff` (nor before) counting the
    ledger rows up to `ledger_id`. Holds no member data."""

    __tablename__ = "points_expiry_mark"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)  # the local day the run expired through
    cutoff: Mapped[datetime] = mapped_column(DateTime)  # UTC: lots expiring before it lapsed
    ledger_id: Mapped[int] = mapped_column(BigInteger)  # every row up to it was counted
    members: Mapped[int] = mapped_column(Integer)  # members who lost points in the run
    points: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
