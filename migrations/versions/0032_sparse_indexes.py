"""Indexes of the rows where a column is set (issue 19): a member's unionid and phone, a
coupon's order number. A join writes a member with neither and a sign-up coupon used on no
order, so on SQLite each join wrote three index pages only to file NULLs (of the ~33 pages
it commits, `bench/webhook.py` prints the count). A partial index (`WHERE col IS NOT NULL`)
skips those rows; the lookups (`phone = ?`, `phone IN (…)`, `unionid = ?`, `order_no = ?`)
imply NOT NULL, so SQLite still uses it.

SQLite only: MariaDB has no partial indexes, and there the indexes stay as they are.
Rebuilding the three reads the member and coupon tables once, holding the write lock.

Revision ID: 0032_sparse_indexes
Revises: 0031_expiry_index
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0032_sparse_indexes"
down_revision: Union[str, Sequence[str], None] = "0031_expiry_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SPARSE = (("ix_member_unionid", "member", "unionid"), ("ix_member_phone", "member", "phone"),
          ("ix_coupon_order_no", "coupon", "order_no"))


def _rebuild(partial: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table, column in SPARSE:
        op.drop_index(name, table_name=table)
        where = {"sqlite_where": sa.text(f"{column} IS NOT NULL")} if partial else {}
        op.create_index(name, table, [column], **where)


def upgrade() -> None:
    _rebuild(partial=True)


def downgrade() -> None:
    _rebuild(partial=False)
