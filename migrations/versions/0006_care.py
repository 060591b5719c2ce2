"""Order fulfilment for delivery reminders and after-sale care: pay_order gains shipped_at,
delivered_at, carrier and tracking_no, and the indexes the order-driven planners read by.

- (member_id, paid_at): a member's first / latest / last order (care anchors, win-back);
- paid_at: the orders of one local day (a care step's anchor window);
- shipped_at, delivered_at: the shipping-reminder sweep and the usage-guide planner.

Revision ID: 0006_care
Revises: 0003_pushes
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0006_care"
down_revision: Union[str, Sequence[str], None] = "0003_pushes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # All nullable: existing orders are simply "not shipped yet".
    with op.batch_alter_table("pay_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipped_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("carrier", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("tracking_no", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_pay_order_member_paid", ["member_id", "paid_at"],
                              unique=False)
        batch_op.create_index("ix_pay_order_paid_at", ["paid_at"], unique=False)
        batch_op.create_index("ix_pay_order_shipped_at", ["shipped_at"], unique=False)
        batch_op.create_index("ix_pay_order_delivered_at", ["delivered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pay_order", schema=None) as batch_op:
        batch_op.drop_index("ix_pay_order_delivered_at")
        batch_op.drop_index("ix_pay_order_shipped_at")
        batch_op.drop_index("ix_pay_order_paid_at")
        batch_op.drop_index("ix_pay_order_member_paid")
        batch_op.drop_column("tracking_no")
        batch_op.drop_column("carrier")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("shipped_at")
