"""Points: gift catalogue, redemptions, and a covering index for lot expiry.

`ix_points_ledger_lots` (member_id, expires_at, delta, reason) lets the expiry run and the
balance sums read a member's rows from the index alone; it replaces the plain member_id
index (its first column serves the foreign key). Existing ledger rows are not touched:
lots written before this revision have no `expires_at` and never lapse.

Revision ID: 0015_points
Revises: 0014_miniapi
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0015_points"
down_revision: Union[str, Sequence[str], None] = "0014_miniapi"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gift",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "points_redemption",
        sa.Column("id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("gift_id", BigId, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("order_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("fen_off", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["gift_id"], ["gift.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_points_redemption_member_id"), ["member_id"],
                              unique=False)
    # New index first: MariaDB refuses to drop the only index a foreign key can use.
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_points_ledger_lots",
                              ["member_id", "expires_at", "delta", "reason"], unique=False)
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_ledger_member_id")


def downgrade() -> None:
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_points_ledger_member_id", ["member_id"], unique=False)
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_ledger_lots")
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_redemption_member_id"))
    op.drop_table("points_redemption")
    op.drop_table("gift")
