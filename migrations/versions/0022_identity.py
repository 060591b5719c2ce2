"""Identity: member codes spent at the till (single use); card numbers a member held before
(lost cards, merged duplicates); merges of duplicate members, undoable for 7 days.

Additive only: new tables, which the previous release ignores.

Revision ID: 0022_identity
Revises: 0021_wxpay
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0022_identity"
down_revision: Union[str, Sequence[str], None] = "0021_wxpay"
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

    op.create_table(
        "card_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("card_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("card_no"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.create_index("ix_card_history_member_id", ["member_id"], unique=False)

    op.create_table(
        "member_merge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("absorbed_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["absorbed_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["survivor_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("member_merge", schema=None) as batch_op:
        batch_op.create_index("ix_member_merge_absorbed_id", ["absorbed_id"], unique=False)
        batch_op.create_index("ix_member_merge_survivor_id", ["survivor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_merge", schema=None) as batch_op:
        batch_op.drop_index("ix_member_merge_survivor_id")
        batch_op.drop_index("ix_member_merge_absorbed_id")
    op.drop_table("member_merge")
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.drop_index("ix_card_history_member_id")
    op.drop_table("card_history")
    with op.batch_alter_table("member_code_use", schema=None) as batch_op:
        batch_op.drop_index("ix_member_code_use_expires_at")
    op.drop_table("member_code_use")
