"""Earning and tier rules: earn_rule, tier_review, member.tier_since, and on pay_order the
multiplier and rule an order earned with and its referral reward.

Revision ID: 0010_rules
Revises: 0006_care
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0010_rules"
down_revision: Union[str, Sequence[str], None] = "0006_care"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "earn_rule",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("multiplier_percent", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_by", sa.String(length=60), nullable=True),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tier_review",
        sa.Column("id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=False),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("qualifying_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "review_date", name="uq_tier_review"),
    )
    # Plain ADD COLUMNs (no table copy on SQLite, no FK juggling on existing rows).
    op.add_column("member", sa.Column("tier_since", sa.Date(), nullable=True))
    # Members above 普通会员 already: their anniversary is the day of their last tier change
    # or, without one, of their joining. The UTC date: a migration does not know the
    # programme's zone, so an anniversary may be a day early for a change made just after
    # a local midnight.
    op.execute(sa.text(
        "UPDATE member SET tier_since = COALESCE("
        "(SELECT DATE(MAX(h.at)) FROM tier_history h WHERE h.member_id = member.id),"
        " DATE(joined_at)) WHERE tier <> 'normal'"))

    op.add_column("pay_order", sa.Column("earn_multiplier", sa.Integer(), nullable=False,
                                         server_default="100"))
    # No foreign key to earn_rule (rules are never deleted): SQLite can then add and drop
    # these columns in place, without copying pay_order from under refund's foreign key.
    op.add_column("pay_order", sa.Column("earn_rule_id", BigId, nullable=True))
    op.add_column("pay_order", sa.Column("referral_points", sa.BigInteger(), nullable=False,
                                         server_default="0"))
    op.add_column("pay_order", sa.Column("referral_reversed", sa.BigInteger(), nullable=False,
                                         server_default="0"))
    # ix_pay_order_member_paid (spend in a rolling window) comes with 0006_care.


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): batch mode's copy of member or
    # pay_order would fail the foreign keys that reference them.
    for column in ("referral_reversed", "referral_points", "earn_rule_id", "earn_multiplier"):
        op.execute(f"ALTER TABLE pay_order DROP COLUMN {column}")
    op.execute("ALTER TABLE member DROP COLUMN tier_since")
    op.drop_table("tier_review")
    op.drop_table("earn_rule")
