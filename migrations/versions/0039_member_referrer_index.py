"""An index of members by their referrer on SQLite (`ix_member_referrer_id`): the
mini-program's 邀请有礼 page counts and lists the members a member brought
(`referrer_id = ?`) every time it opens, and a merge re-points the absorbed member's
referees; on SQLite, with no index, each read the whole member table. Most members were
referred by nobody, so the index holds only those who were (`WHERE referrer_id IS NOT
NULL`, as migration 0032's): a join without a referrer files no entry.

SQLite only: on MariaDB the foreign key to `member` already has its index (InnoDB makes
one for every foreign key), which those reads use. Indexes only: a previous release still
serving runs unchanged beside it.

Revision ID: 0039_member_referrer_index
Revises: 0038_coupon_member_index
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0039_member_referrer_index"
down_revision: Union[str, Sequence[str], None] = "0038_coupon_member_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_member_referrer_id", "member", ["referrer_id"],
                        sqlite_where=sa.text("referrer_id IS NOT NULL"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_member_referrer_id", table_name="member")
