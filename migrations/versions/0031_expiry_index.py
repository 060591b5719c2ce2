"""Points expiry from where the last run stopped (issue 19): `points_expiry_mark` records each
finished run (its cutoff and the ledger id up to which it counted every row), and
`ix_points_ledger_expires` (expires_at, member_id) finds the members whose lots lapsed since,
from the index alone, so a replay or a quiet day reads a few index entries instead of the
whole ledger.

Deploy note: building the index reads the whole ledger once. On MariaDB it is built online
(ALTER TABLE … ADD INDEX, in place: reads and writes go on meanwhile); on the shared 2-core
bench box it took 51 s for 10,000,000 rows (load 10) and 19 s for 12,000,000 (load 5), and
adds ~320 MB (docs/benchmarks.md). SQLite holds the write lock while it builds. The first expiry run after the upgrade has no mark and visits every member once, as
before.

Revision ID: 0031_expiry_index
Revises: 0030_channel_retire
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0031_expiry_index"
down_revision: Union[str, Sequence[str], None] = "0030_channel_retire"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "points_expiry_mark",
        sa.Column("id", ID, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("ledger_id", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_points_ledger_expires", "points_ledger", ["expires_at", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_points_ledger_expires", table_name="points_ledger")
    op.drop_table("points_expiry_mark")
