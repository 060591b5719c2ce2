"""Pushes that reach people (issue 15).

`member.window_at`: when the member last opened WeChat's 48-hour customer-service window
(a message, a menu click, a subscribe, a scan, a WeChat Pay payment), apart from
`last_seen_at`, which a link tap (VIEW) also moves (activity).

Revision ID: 0023_reach
Revises: 0018_loyalty2
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0023_reach"
down_revision: Union[str, Sequence[str], None] = "0018_loyalty2"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("window_at")
