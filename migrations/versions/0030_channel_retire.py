"""Channel codes can be retired (issue 18): `channel.retired_at`, when an operator retired
it (NULL: in use). A retired code keeps working for people (WeChat keeps its QR valid):
it is hidden from the console's default list and can no longer be edited or renewed.

Revision ID: 0030_channel_retire
Revises: 0029_loyalty_console
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0030_channel_retire"
down_revision: Union[str, Sequence[str], None] = "0029_loyalty_console"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
