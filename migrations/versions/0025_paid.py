"""付费会员 (issue 14): membership products (seeded: 金卡年卡 ¥99 = 金卡 for 365 days), the
paid tier each member holds until an end date, and each membership purchase (with its
refund, if the shop refunded it); setting paid_membership_refund (code default prorata).

Revision ID: 0025_paid
Revises: 0023_reach
Create Date: 2026-12-02
"""
from datetime import datetime, timezone
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0025_paid"
down_revision: Union[str, Sequence[str], None] = "0023_reach"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    product = op.create_table(
        "membership_product",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "paid_tier",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("expired_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    with op.batch_alter_table("paid_tier", schema=None) as batch_op:
        batch_op.create_index("ix_paid_tier_ends_at", ["ends_at"], unique=False)
    op.create_table(
        "membership_purchase",
        sa.Column("id", ID, nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=True),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_days", sa.Integer(), nullable=False),
        sa.Column("refund_status", sa.String(length=12), nullable=True),
        sa.Column("refund_by", sa.String(length=60), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["membership_product.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_refund_no"),
        sa.UniqueConstraint("out_trade_no"),
    )
    with op.batch_alter_table("membership_purchase", schema=None) as batch_op:
        batch_op.create_index("ix_membership_purchase_member_id", ["member_id"], unique=False)
    op.bulk_insert(product, [{"name": "金卡年卡", "tier": "gold", "days": 365, "price_fen": 9900,
                              "active": True,
                              "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}])


def downgrade() -> None:
    op.drop_table("membership_purchase")
    op.drop_table("paid_tier")
    op.drop_table("membership_product")
