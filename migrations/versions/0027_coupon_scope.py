"""Coupon templates tied to stores and limited in stock (issues 13 and 18): the stores a
template's coupons can be used in (none: every store), and a total issuable count with the
count issued so far (backfilled from the coupons already issued).

Revision ID: 0027_coupon_scope
Revises: 0025_paid
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0027_coupon_scope"
down_revision: Union[str, Sequence[str], None] = "0025_paid"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "coupon_template_store",
        sa.Column("template_id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["coupon_template.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("template_id", "store_id"),
    )
    with op.batch_alter_table("coupon_template_store", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_template_store_store_id", ["store_id"], unique=False)
    with op.batch_alter_table("coupon_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stock_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("issued_count", sa.BigInteger(), nullable=False,
                                      server_default="0"))
    op.execute("UPDATE coupon_template SET issued_count = (SELECT COUNT(*) FROM coupon "
               "WHERE coupon.template_id = coupon_template.id)")


def downgrade() -> None:
    with op.batch_alter_table("coupon_template", schema=None) as batch_op:
        batch_op.drop_column("issued_count")
        batch_op.drop_column("stock_limit")
    # Its index goes with it (MariaDB refuses to drop an index a foreign key needs).
    op.drop_table("coupon_template_store")
