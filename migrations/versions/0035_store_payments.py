"""到店买单 (a member pays a store from the mini-program, payments/store_payments.py):
`store_payment`, one row per payment with what the member typed, the benefit, coupon and
points applied, what was paid, and its status. A new table: no existing table changes.

Revision ID: 0035_store_payments
Revises: 0034_till_store_of_takes
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0035_store_payments"
down_revision: Union[str, Sequence[str], None] = "0034_till_store_of_takes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "store_payment",
        sa.Column("id", ID, nullable=False),
        sa.Column("out_trade_no", sa.String(32), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("pay_with", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("member_fen", sa.BigInteger(), nullable=False),
        sa.Column("benefit", sa.String(40), nullable=True),
        sa.Column("benefit_kind", sa.String(20), nullable=True),
        sa.Column("coupon_code", sa.String(20), nullable=True),
        sa.Column("coupon_saving_fen", sa.BigInteger(), nullable=False),
        sa.Column("points_used", sa.BigInteger(), nullable=False),
        sa.Column("points_fen", sa.BigInteger(), nullable=False),
        sa.Column("payable_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("points_earned", sa.Integer(), nullable=True),
        sa.Column("balance_after_fen", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("out_trade_no"),
    )
    op.create_index("ix_store_payment_member", "store_payment", ["member_id", "id"])
    op.create_index("ix_store_payment_store_paid", "store_payment", ["store_id", "paid_at"])


def downgrade() -> None:
    # The table alone: its indexes go with it. Dropping ix_store_payment_store_paid first
    # is refused on MariaDB, which needs it for the store_id foreign key (error 1553).
    op.drop_table("store_payment")
