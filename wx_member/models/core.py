"""Foundation tables: members, channels, scans, inbound events, the points ledger, settings.

Rules live in the area packages (wx_member/members, loyalty, …); these classes hold data only.

All times are naive UTC datetimes (MySQL DATETIME has no zone); `wx_member.clock.utcnow()`
is the one source of them.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wx_member.clock import utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


def sparse_index(name: str, column) -> Index:
    """An index of the rows where `column` (a Column or its name) is set, for a column most
    rows leave NULL when written: a member's unionid and phone at a join, a coupon's order
    until it is used. On SQLite such a row then writes no entry at all (a join wrote three
    index pages for NULLs, of the ~33 pages it commits) and the index holds only rows a
    lookup can find; SQLite uses it for `column = …` and `IN (…)`, which imply NOT NULL.
    MariaDB has no partial indexes: there it is the plain index."""
    where = text(f"{getattr(column, 'name', column)} IS NOT NULL")
    return Index(name, column, sqlite_where=where)


class Channel(Base):
    """A parametric QR code: a store, a staff member, a poster, or a member's referral code."""

    __tablename__ = "channel"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scene: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # store | staff | poster | campaign | referral
    # The store the code stands in (required for kind store): who joins through it gets
    # it as their home store (member.home_store_id).
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket: Mapped[str | None] = mapped_column(String(200))
    qr_url: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When an operator retired the code (None: in use). WeChat keeps a printed code valid,
    # so its scans still join and count; retired codes are only no longer edited or renewed.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)


class Member(Base):
    __tablename__ = "member"
    # sqlite_autoincrement: ids (and so card numbers) are never reused, even after a delete.
    # The name: for the console's likely duplicates (same name and birthday); most members
    # have none, so the index is sparse too. The referrer: the 邀请有礼 page's count and
    # list; on SQLite only (migration 0039), MariaDB has the foreign key's own index.
    __table_args__ = (sparse_index("ix_member_unionid", "unionid"), sparse_index("ix_member_name", "name"),
                      Index("ix_member_referrer_id", "referrer_id", sqlite_where=text(
                          "referrer_id IS NOT NULL")).ddl_if(dialect="sqlite"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The Official Account openid; None for a member who so far only used the mini-program.
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The mini-program's openid for the same person (another appid, another openid); the
    # unionid links the two when both are known.
    mini_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))  # indexed below
    card_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    tier: Mapped[str] = mapped_column(String(20), default="normal")
    # The local date the member reached their current tier: its anniversary is the day of
    # the yearly tier review (loyalty/tier_review.py). None at 普通会员 until a change.
    tier_since: Mapped[date | None] = mapped_column(Date)
    points_balance: Mapped[int] = mapped_column(BigInteger, default=0)  # = sum(points_ledger.delta)
    # Sum of paid minus refunded order amounts (fen): what the tier is decided on.
    total_spend_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Stored value (储值), fen: = sum(stored_value_ledger.delta_fen), never below zero.
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    birthday: Mapped[datetime | None] = mapped_column(DateTime)
    phone: Mapped[str | None] = mapped_column(String(20))
    # 姓名 (optional, ≤ 30 characters): typed by an operator, the member or an import; never
    # an identity (two members may share a name), only a way to find someone.
    name: Mapped[str | None] = mapped_column(String(30))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    scene: Mapped[str | None] = mapped_column(String(64))  # the QR scene they joined through
    # 归属门店: the store of the channel they joined through, changed by operators (audited).
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The last time the member did what opens WeChat's 48-hour customer-service window
    # (platform/events.py: WINDOW_OPENERS, a WeChat Pay payment); a VIEW tap does not.
    window_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the member's personal data was erased on request (members/privacy.py).
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)

    referrer: Mapped[Member | None] = relationship(remote_side=[id])
    channel: Mapped[Channel | None] = relationship()


class QrScan(Base):
    """One scan of a channel QR code (joins and plain scans): the denominator of 开卡率."""

    __tablename__ = "qr_scan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    scene: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(64))
    joined: Mapped[bool] = mapped_column(Boolean, default=False)  # this scan created the member
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_qr_scan_channel", "channel_id", "openid"),)


class InboundEvent(Base):
    """Every processed webhook event; the unique dedup key is what makes retries harmless."""

    __tablename__ = "inbound_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    openid: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PointsLedger(Base):
    """Append-only. A member's balance is the sum of their rows. A positive row is a lot
    that lapses at `expires_at` (None: never); see loyalty/points_expiry.py."""

    __tablename__ = "points_ledger"
    # Covers the per-member aggregates of the expiry run and balance checks: an index-only
    # range scan instead of a table lookup per row (it also serves the member_id FK).
    __table_args__ = (Index("ix_points_ledger_lots", "member_id", "expires_at", "delta",
                            "reason"),
                      # Recent operator adjustments (pushes/notice_planners.py, every minutes).
                      Index("ix_points_ledger_reason_at", "reason", "created_at"),
                      # Who has lots lapsing in a window: the expiry run's members to visit
                      # since its last mark, from the index alone (loyalty/expiry_run.py).
                      Index("ix_points_ledger_expires", "expires_at", "member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))
    idem_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    """Programme rules operators change at run time (sign-up points, referral points, ...)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
