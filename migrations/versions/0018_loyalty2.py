"""Loyalty gaps of issue #3: cancelled cash-offs, coupons found by their order on refund.

`points_redemption.cancelled_at` / `cancel_reason`: a cash-off reversed because its order
was never paid or was cancelled (services/redemption.py); the points come back as their own
ledger row (`cashoff-cancel:<order_no>`), the redemption row only says it was cancelled.
`ix_coupon_order_no`: a full refund looks up the coupons redeemed on its order
(services/coupon_returns.py) without scanning the coupon table.

Revision ID: 0018_loyalty2
Revises: 0017_ratelimit
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0018_loyalty2"
down_revision: Union[str, Sequence[str], None] = "0017_ratelimit"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=100), nullable=True))
    with op.batch_alter_table("coupon", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_order_no", ["order_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupon", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_order_no")
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
