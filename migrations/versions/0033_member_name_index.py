"""An index of members' names where set (`ix_member_name`): the console's member page lists
likely duplicates, among them members with the same name and birthday, and without an
index that lookup read the whole member table on every member page. Most members have no
name (the join does not ask for one), so on SQLite the index holds only those who do
(`WHERE name IS NOT NULL`, as migration 0032's); on MariaDB it is a plain index.

Revision ID: 0033_member_name_index
Revises: 0032_sparse_indexes
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0033_member_name_index"
down_revision: Union[str, Sequence[str], None] = "0032_sparse_indexes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_member_name", "member", ["name"],
                    sqlite_where=sa.text("name IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_member_name", table_name="member")
