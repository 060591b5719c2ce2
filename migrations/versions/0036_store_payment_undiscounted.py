"""到店买单's 不参与优惠金额 (payments/store_checkout.py): `store_payment.undiscounted_fen`,
the part of the amount typed that gets no member benefit, counts towards no coupon and
cannot be paid with points. server_default 0: the payments made before it had none, and a
previous release still serving writes rows without it; MariaDB adds the column in place,
SQLite's ALTER TABLE ADD COLUMN too (a constant default), so batch mode copies no table.

Revision ID: 0036_store_payment_undiscounted
Revises: 0035_store_payments
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0036_store_payment_undiscounted"
down_revision: Union[str, Sequence[str], None] = "0035_store_payments"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("store_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undiscounted_fen", sa.BigInteger(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("store_payment", schema=None) as batch_op:
        batch_op.drop_column("undiscounted_fen")
