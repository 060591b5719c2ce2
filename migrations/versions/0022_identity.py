"""Identity: member codes spent at the till (single use).

Additive only: new tables, which the previous release ignores.

Revision ID: 0022_identity
Revises: 0018_loyalty2
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0022_identity"
down_revision: Union[str, Sequence[str], None] = "0018_loyalty2"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "member_code_use",
        sa.Column("code_key", sa.String(length=64), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code_key"),
    )
    with op.batch_alter_table("member_code_use", schema=None) as batch_op:
        batch_op.create_index("ix_member_code_use_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_code_use", schema=None) as batch_op:
        batch_op.drop_index("ix_member_code_use_expires_at")
    op.drop_table("member_code_use")
