"""Console campaigns by segment: the `campaign` table (no personal data: a segment's
criteria, a push kind, a time, a status) and an index of delivery rows by occasion.

Additive only: a new table and an index, so the previous release keeps working on this schema.

Revision ID: 0016_campaigns
Revises: 0015_points
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0016_campaigns"
down_revision: Union[str, Sequence[str], None] = "0015_points"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.Column("coupon_template_id", BigId, nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=60), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["coupon_template_id"], ["coupon_template.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_due", "campaign", ["status", "scheduled_at"])
    # Progress: a campaign's delivery rows by status (see models/campaigns.py).
    op.create_index("ix_delivery_kind_occasion", "delivery", ["kind", "occasion", "status"])


def downgrade() -> None:
    op.drop_index("ix_delivery_kind_occasion", table_name="delivery")
    op.drop_index("ix_campaign_due", table_name="campaign")
    op.drop_table("campaign")
