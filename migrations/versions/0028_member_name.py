"""A member's name (姓名, issue 18): optional, at most 30 characters; set by an operator, by
the member in the mini-program, or by a CSV import; searched in the console.

Revision ID: 0028_member_name
Revises: 0027_coupon_scope
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0028_member_name"
down_revision: Union[str, Sequence[str], None] = "0027_coupon_scope"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("name")
