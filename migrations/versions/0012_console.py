"""Operator console: operator, login_attempt, audit_log, member_tag, menu_version.

Revision ID: 0012_console
Revises: 0011_coupons
Create Date: 2026-11-28
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0012_console"
down_revision: Union[str, Sequence[str], None] = "0011_coupons"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator",
        sa.Column("id", BigId, nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", BigId, nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempt_user", "login_attempt", ["username", "at"])
    op.create_index("ix_login_attempt_ip", "login_attempt", ["ip", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target", "audit_log", ["action", "target"])
    op.create_table(
        "member_tag",
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "tag"),
    )
    op.create_index("ix_member_tag_tag", "member_tag", ["tag"])
    op.create_table(
        "menu_version",
        sa.Column("id", BigId, nullable=False),
        sa.Column("menu", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=60), nullable=False),
        sa.Column("rollback_of", BigId, nullable=True),
        sa.ForeignKeyConstraint(["rollback_of"], ["menu_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # Console searches: a member by phone (card and openid are unique, so indexed already),
    # members by join time (joins per day, 开卡率) and orders by payer and time (KPIs, RFM).
    op.create_index("ix_member_phone", "member", ["phone"])
    op.create_index("ix_member_joined_at", "member", ["joined_at"])
    op.create_index("ix_qr_scan_created", "qr_scan", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_qr_scan_created", table_name="qr_scan")
    op.drop_index("ix_member_joined_at", table_name="member")
    op.drop_index("ix_member_phone", table_name="member")
    op.drop_table("menu_version")
    op.drop_index("ix_member_tag_tag", table_name="member_tag")
    op.drop_table("member_tag")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_login_attempt_ip", table_name="login_attempt")
    op.drop_index("ix_login_attempt_user", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_table("operator")
