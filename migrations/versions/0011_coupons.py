"""Coupons and stored value: coupon_template, coupon, coupon_event, stored_value_ledger,
recharge_option, member.balance_fen, pay_order.purpose; default templates and ladder.

The defaults are a neighbourhood café's (the demo programme): a 10-yuan sign-up
voucher, 满50减10 / 满50减15 (银卡) / 满50减20 (金卡), a birthday coffee (银卡 and up) and a
50-yuan birthday voucher (金卡); recharge 充500送50, 充1000送120. Template ids are fixed
here because the settings `signup_coupon_template` (1) and `birthday_coupon_template` (5)
name them.

Revision ID: 0011_coupons
Revises: 0010_rules
Create Date: 2026-11-27
"""
from datetime import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0011_coupons"
down_revision: Union[str, Sequence[str], None] = "0010_rules"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEEDED = datetime(2026, 11, 27)


def _templates(table) -> None:
    row = dict(min_spend_fen=0, amount_off_fen=None, percent_off=None, cap_fen=None,
               item=None, min_tier=None, valid_from=None, valid_until=None, valid_days=30,
               active=True, created_by="migration", created_at=SEEDED)
    op.bulk_insert(table, [
        {**row, "id": 1, "name": "入会礼 10元代金券", "kind": "amount_off",
         "amount_off_fen": 1000},
        {**row, "id": 2, "name": "满50减10", "kind": "amount_off", "min_spend_fen": 5000,
         "amount_off_fen": 1000},
        {**row, "id": 3, "name": "银卡 满50减15", "kind": "amount_off", "min_spend_fen": 5000,
         "amount_off_fen": 1500, "min_tier": "silver"},
        {**row, "id": 4, "name": "金卡 满50减20", "kind": "amount_off", "min_spend_fen": 5000,
         "amount_off_fen": 2000, "min_tier": "gold"},
        {**row, "id": 5, "name": "生日礼 中杯咖啡", "kind": "item", "item": "中杯咖啡",
         "min_tier": "silver"},
        {**row, "id": 6, "name": "金卡生日 50元代金券", "kind": "amount_off",
         "amount_off_fen": 5000, "min_tier": "gold"},
    ])


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite supports it with a constant default): no table copy, so
    # member keeps its AUTOINCREMENT.
    op.add_column("member", sa.Column("balance_fen", sa.BigInteger(), nullable=False,
                                      server_default="0"))
    op.add_column("pay_order", sa.Column("purpose", sa.String(length=12), nullable=False,
                                         server_default="purchase"))

    templates = op.create_table(
        "coupon_template",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_off_fen", sa.BigInteger(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("item", sa.String(length=60), nullable=True),
        sa.Column("min_tier", sa.String(length=20), nullable=True),
        sa.Column("valid_from", sa.DateTime(), nullable=True),
        sa.Column("valid_until", sa.DateTime(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    _templates(templates)

    op.create_table(
        "coupon",
        sa.Column("id", BigId, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("template_id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("cause", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_until", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("order_fen", sa.BigInteger(), nullable=True),
        sa.Column("discount_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["template_id"], ["coupon_template.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("cause"),
    )
    with op.batch_alter_table("coupon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_coupon_status_until", ["status", "valid_until"], unique=False)

    op.create_table(
        "coupon_event",
        sa.Column("id", BigId, nullable=False),
        sa.Column("coupon_id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("discount_fen", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupon.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    with op.batch_alter_table("coupon_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_event_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupon_event_member_id"), ["member_id"], unique=False)

    op.create_table(
        "stored_value_ledger",
        sa.Column("id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("delta_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    with op.batch_alter_table("stored_value_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_value_ledger_member_id"), ["member_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_stored_value_ledger_order_no"), ["order_no"],
                              unique=False)

    options = op.create_table(
        "recharge_option",
        sa.Column("id", BigId, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("bonus_fen", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("amount_fen"),
    )
    op.bulk_insert(options, [
        {"id": 1, "amount_fen": 50000, "bonus_fen": 5000, "active": True,
         "updated_by": "migration", "updated_at": SEEDED},
        {"id": 2, "amount_fen": 100000, "bonus_fen": 12000, "active": True,
         "updated_by": "migration", "updated_at": SEEDED},
    ])


def downgrade() -> None:
    op.drop_table("recharge_option")
    op.drop_table("stored_value_ledger")
    op.drop_table("coupon_event")
    op.drop_table("coupon")
    op.drop_table("coupon_template")
    with op.batch_alter_table("pay_order", schema=None) as batch_op:
        batch_op.drop_column("purpose")
    # SQLite drops a column by copying the table: keep AUTOINCREMENT (ids are never reused).
    with op.batch_alter_table("member", schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("balance_fen")
