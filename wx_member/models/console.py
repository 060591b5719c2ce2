"""Operator console: operators and their login attempts, the audit log, member tags and
the custom menu's versions.

Rules live in `console/operators.py`, `platform/audit.py`, `console/member_admin.py` and
`console/menus.py`; these classes hold data only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId, sparse_index

ROLES = ("viewer", "operator", "admin")  # each can do what the ones before it can
# Store-scoped roles (operator.store_id set): a clerk reads like a viewer, a manager acts
# like an operator, both on their own store's members, channel codes and till keys only.
STORE_ROLES = {"clerk": "viewer", "manager": "operator"}


class Operator(Base):
    """Someone who logs in to the console. Never deleted (the audit log names them)."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(12))  # viewer | operator | admin | clerk | manager
    # A store-scoped account (store roles): sees and changes that store's data only.
    # None: headquarters (HQ), everything.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password, role or status changes: sessions carrying an older
    # generation are logged out.
    generation: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginAttempt(Base):
    """Every login attempt, kept for the rate limit (per username and per address) and
    for an operator's security review."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_user", "username", "at"),
                      Index("ix_login_attempt_ip", "ip", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(45))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(Base):
    """Who changed what, when, with the value before and after. Written in the same
    transaction as the change it describes."""

    __tablename__ = "audit_log"
    # A target's entries (the console's member page), and of one action (migration 0040).
    __table_args__ = (Index("ix_audit_log_target_action", "target", "action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(60))  # operator username, or "cli"
    action: Mapped[str] = mapped_column(String(40))  # setting.change, points.adjust, ...
    target: Mapped[str] = mapped_column(String(100))  # setting key, member card, ...
    before: Mapped[object | None] = mapped_column(JSON)
    after: Mapped[object | None] = mapped_column(JSON)


class MemberTag(Base):
    """A label an operator puts on a member (VIP, 团购, ...)."""

    __tablename__ = "member_tag"
    __table_args__ = (Index("ix_member_tag_tag", "tag"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(60))


class MenuVersion(Base):
    """A custom menu as published to WeChat. The newest row is what followers see; an
    older one can be published again (a rollback, itself a new row)."""

    __tablename__ = "menu_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    menu: Mapped[dict] = mapped_column(JSON)  # the body sent to menu/create
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(60))
    rollback_of: Mapped[int | None] = mapped_column(ForeignKey("menu_version.id"))


# Console searches and reports on other areas' tables, declared here so those modules stay
# as they are (migration 0012_console creates them): a member by phone, members by join
# time (joins per day, 开卡率), scans by time. Orders by payer and time (KPIs, RFM) use
# ix_pay_order_member_paid from 0006_care.
def _console_indexes() -> None:
    from wx_member.models.core import Member, QrScan

    sparse_index("ix_member_phone", Member.phone)
    Index("ix_member_joined_at", Member.joined_at)
    Index("ix_qr_scan_created", QrScan.created_at)


_console_indexes()
