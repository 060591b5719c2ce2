"""Mini-program members: member.mini_openid (unique), member.openid nullable (a member
who so far only used the mini-program has no Official Account openid).

Revision ID: 0014_miniapi
Revises: 0013_deploy
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0014_miniapi"
down_revision: Union[str, Sequence[str], None] = "0013_deploy"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # SQLite alters a column only by copying the table (env.py turns foreign keys off for
    # the copy and checks them afterwards); keep AUTOINCREMENT: ids are never reused.
    with op.batch_alter_table("member", schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("mini_openid", sa.String(length=64), nullable=True))
        batch_op.alter_column("openid", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint("uq_member_mini_openid", ["mini_openid"])


def downgrade() -> None:
    # Members without an Official Account openid cannot survive NOT NULL: refuse rather
    # than delete them.
    bind = op.get_bind()
    orphans = bind.execute(sa.text("SELECT COUNT(*) FROM member WHERE openid IS NULL")).scalar()
    if orphans:
        raise RuntimeError(f"{orphans} members have no Official Account openid; "
                           "downgrading would lose them")
    with op.batch_alter_table("member", schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_constraint("uq_member_mini_openid", type_="unique")
        batch_op.alter_column("openid", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("mini_openid")
