"""Loyalty in the console (issue 18): birthday gifts per tier, gift images.

The single rules `birthday_points` and `birthday_coupon_template` become one per tier
(`tier_<tier>_birthday_points`, `tier_<tier>_birthday_coupon_template`): a stored value is
copied to every tier (what each member was given before) and the old row removed; an
unset rule stays unset (the per-tier defaults are the old defaults). Gift images: one
stored image per gift (bytes in the database, no CDN), with its type, size and a digest
that names its URL.

Revision ID: 0029_loyalty_console
Revises: 0028_member_name
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision: str = "0029_loyalty_console"
down_revision: Union[str, Sequence[str], None] = "0028_member_name"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIERS = ("normal", "silver", "gold", "diamond")
MOVED = {"birthday_points": "tier_{}_birthday_points",
         "birthday_coupon_template": "tier_{}_birthday_coupon_template"}
setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", sa.JSON),
                   sa.column("updated_at", sa.DateTime), sa.column("updated_by", sa.String),
                   sa.column("note", sa.Text))


def upgrade() -> None:
    bind = op.get_bind()
    for old, new in MOVED.items():
        row = bind.execute(sa.select(setting).where(setting.c.key == old)).mappings().first()
        if row is None:
            continue
        bind.execute(sa.insert(setting), [
            {"key": new.format(tier), "value": row["value"], "updated_at": row["updated_at"],
             "updated_by": row["updated_by"], "note": f"from {old} (migration 0029)"}
            for tier in TIERS])
        bind.execute(sa.delete(setting).where(setting.c.key == old))
    op.create_table(
        "gift_image",
        sa.Column("gift_id", ID, nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        # Up to 1 MB: MariaDB's BLOB holds 64 KB, MEDIUMBLOB 16 MB.
        sa.Column("data", sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["gift_id"], ["gift.id"]),
        sa.PrimaryKeyConstraint("gift_id"),
    )


def downgrade() -> None:
    op.drop_table("gift_image")
    bind = op.get_bind()
    for old, new in MOVED.items():
        # The 普通会员 value stands for all (the single rule cannot say more).
        row = bind.execute(sa.select(setting).where(
            setting.c.key == new.format("normal"))).mappings().first()
        bind.execute(sa.delete(setting).where(
            setting.c.key.in_([new.format(tier) for tier in TIERS])))
        if row is not None:
            bind.execute(sa.insert(setting), [{**row, "key": old, "note": None}])
