"""The till's pricing and purchases (issue 13): tier discounts, member days and member
price lists (operators' configuration, seeded with the café programme of
/work/shared/domain.md), order lines, payment parts, the till's requests, and preference
tag rules.

Additive only: new tables, so the previous release keeps working on this schema.

Revision ID: 0020_benefits
Revises: 0019_stores
Create Date: 2026-12-02
"""
from datetime import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0020_benefits"
down_revision: Union[str, Sequence[str], None] = "0019_stores"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    now = datetime.utcnow().replace(microsecond=0)
    discounts = op.create_table(
        "tier_discount",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("excluded_categories", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tier"),
    )
    days = op.create_table(
        "member_day",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("discount_percent", sa.SmallInteger(), nullable=True),
        sa.Column("points_percent", sa.Integer(), nullable=True),
        sa.Column("excluded_categories", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "member_price",
        sa.Column("id", BigId, nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku", "tier", name="uq_member_price_sku_tier"),
    )
    op.create_table(
        "order_line",
        sa.Column("id", BigId, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("benefit", sa.String(length=20), nullable=True),
        sa.Column("refunded_quantity", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["pay_order.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_line_order_id", "order_line", ["order_id"])
    op.create_index("ix_order_line_sku", "order_line", ["sku"])
    op.create_index("ix_order_line_category", "order_line", ["category"])
    op.create_table(
        "payment_part",
        sa.Column("id", BigId, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("credited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["pay_order.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_trade_no"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_index("ix_payment_part_order_id", "payment_part", ["order_id"])
    op.create_table(
        "till_request",
        sa.Column("id", BigId, nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("store_id", BigId, nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    op.create_table(
        "tag_rule",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("min_purchases", sa.Integer(), nullable=False),
        sa.Column("within_days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag"),
    )
    # The café programme's defaults (domain.md): 银卡 95折, 金卡 9折, 钻石 85折 every day;
    # member days 银卡 every Tuesday 8折, 金卡 Monday to Wednesday 7折; nothing excluded.
    op.bulk_insert(discounts, [
        {"tier": tier, "percent": percent, "excluded_categories": [], "updated_by": "seed",
         "updated_at": now}
        for tier, percent in (("normal", 100), ("silver", 95), ("gold", 90), ("diamond", 85))])
    op.bulk_insert(days, [
        {"name": name, "kind": "weekday", "day": day, "tier": tier, "discount_percent": pct,
         "points_percent": None, "excluded_categories": [], "enabled": True,
         "created_by": "seed", "created_at": now}
        for name, day, tier, pct in (("银卡会员日", 2, "silver", 80), ("金卡会员日", 1, "gold", 70),
                                     ("金卡会员日", 2, "gold", 70), ("金卡会员日", 3, "gold", 70))])


def downgrade() -> None:
    op.drop_table("tag_rule")
    op.drop_table("till_request")
    op.drop_index("ix_payment_part_order_id", table_name="payment_part")
    op.drop_table("payment_part")
    op.drop_index("ix_order_line_category", table_name="order_line")
    op.drop_index("ix_order_line_sku", table_name="order_line")
    op.drop_index("ix_order_line_order_id", table_name="order_line")
    op.drop_table("order_line")
    op.drop_table("member_price")
    op.drop_table("member_day")
    op.drop_table("tier_discount")
