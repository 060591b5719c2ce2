"""The store a till took points or a coupon off a sale in (`points_redemption.store_id`,
`coupon_event.store_id`), so a till can cancel a sale it gave up on (`/till/v1/sales/cancel`)
and only its own store's. NULL where no till did it (the CLI, the console, the deprecated
/api/cashier) or before this migration. No foreign key, as 0010's columns: SQLite then adds
the columns in place instead of copying the tables (coupon_event is one of the largest).

Revision ID: 0034_till_store_of_takes
Revises: 0033_member_name_index
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0034_till_store_of_takes"
down_revision: Union[str, Sequence[str], None] = "0033_member_name_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("points_redemption", sa.Column("store_id", BigId, nullable=True))
    op.add_column("coupon_event", sa.Column("store_id", BigId, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coupon_event") as batch_op:
        batch_op.drop_column("store_id")
    with op.batch_alter_table("points_redemption") as batch_op:
        batch_op.drop_column("store_id")
