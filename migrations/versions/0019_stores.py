"""Stores of the chain (issue 13): `store`, `till_key` (the hashed keys tills call /till/v1
with), and the store of a channel code, of an order (recorded by the till), of a member
(归属门店, home store) and of a store-scoped console account.

Revision ID: 0019_stores
Revises: 0018_loyalty2
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0019_stores"
down_revision: Union[str, Sequence[str], None] = "0018_loyalty2"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (table, foreign key name): each gets a nullable store_id and an index on it.
STORE_OF = (("channel", "fk_channel_store"), ("member", "fk_member_home_store"),
            ("pay_order", "fk_pay_order_store"), ("operator", "fk_operator_store"))


def _column(table: str) -> str:
    return "home_store_id" if table == "member" else "store_id"


def upgrade() -> None:
    op.create_table(
        "store",
        sa.Column("id", BigId, nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("city", sa.String(length=40), server_default="", nullable=False),
        sa.Column("address", sa.String(length=200), server_default="", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "till_key",
        sa.Column("id", BigId, nullable=False),
        sa.Column("store_id", BigId, nullable=False),
        sa.Column("label", sa.String(length=40), server_default="", nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=60), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_till_key_store_id", "till_key", ["store_id"])
    for table, fk in STORE_OF:
        column = _column(table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, BigId, nullable=True))
            # The index before the key, so MySQL does not add an index of its own for it.
            batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)
            batch_op.create_foreign_key(fk, "store", [column], ["id"])


def downgrade() -> None:
    for table, fk in reversed(STORE_OF):
        column = _column(table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(fk, type_="foreignkey")
            batch_op.drop_index(f"ix_{table}_{column}")
            batch_op.drop_column(column)
    op.drop_index("ix_till_key_store_id", table_name="till_key")
    op.drop_table("till_key")
    op.drop_table("store")
