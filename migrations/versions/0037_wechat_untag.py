"""`wechat_untag`: the (WeChat tag id, openid) pairs an erasure leaves for the next tag sync
to untag at WeChat (pushes/wechat_untags.py), and nothing else. A new table: a previous
release still serving never reads or writes it (its erasure deletes `wechat_tag_member`
rows as before, which this release's sync copes with). Downgrading drops
the pairs still pending: sync the tags first, or those followers stay tagged at WeChat.

Revision ID: 0037_wechat_untag
Revises: 0036_store_payment_undiscounted
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0037_wechat_untag"
down_revision: Union[str, Sequence[str], None] = "0036_store_payment_undiscounted"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "wechat_untag",
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "openid"),
    )


def downgrade() -> None:
    op.drop_table("wechat_untag")
