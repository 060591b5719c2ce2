"""Payments: orders, refunds, tier history, member.total_spend_fen.

Revision ID: 0002_payments
Revises: 0001
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0002_payments"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # server_default: existing members get 0 without a table rewrite on MariaDB; on SQLite
    # batch mode copies the table, which is what SQLite needs to add a NOT NULL column.
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_spend_fen", sa.BigInteger(), nullable=False,
                                      server_default="0"))

    op.create_table(
        "pay_order",
        sa.Column("id", BigId, nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("member_id", BigId, nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("api", sa.String(length=4), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_trade_no"),
        sa.UniqueConstraint("transaction_id"),
    )
    with op.batch_alter_table("pay_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pay_order_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pay_order_openid"), ["openid"], unique=False)

    op.create_table(
        "refund",
        sa.Column("id", BigId, nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), nullable=False),
        sa.Column("points_shortfall", sa.BigInteger(), nullable=False),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["pay_order.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_refund_no"),
    )
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_order_id"), ["order_id"], unique=False)

    op.create_table(
        "tier_history",
        sa.Column("id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=False),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("cause", sa.String(length=100), nullable=True),
        sa.Column("total_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tier_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_history_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping them first fails on MariaDB, where an
    # index that backs a foreign key cannot be dropped on its own (error 1553).
    op.drop_table("tier_history")
    op.drop_table("refund")
    op.drop_table("pay_order")
    # SQLite drops a column by copying the table: keep AUTOINCREMENT (ids are never reused).
    with op.batch_alter_table("member", schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("total_spend_fen")
