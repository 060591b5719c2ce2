"""Rate limits in the database: `rate_limit_counter`, the mini-program API's moving-window
hits when REDIS_URL is not set (wx_member/ratelimit_storage.py).

Additive only: a new table, which the previous release ignores (it counts in memory).

Revision ID: 0017_ratelimit
Revises: 0016_campaigns
Create Date: 2026-11-28
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0017_ratelimit"
down_revision: Union[str, Sequence[str], None] = "0016_campaigns"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("rate_limit_counter", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limit_counter_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_limit_counter", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limit_counter_expires_at")
    op.drop_table("rate_limit_counter")
