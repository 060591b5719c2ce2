"""Pushes that reach people (issue 15).

`mass_job`: one mass-send call (群发) with its clientmsgid and WeChat's report;
`delivery.mass_job_id`: the call a mass row went out in.
`wechat_tag`, `wechat_tag_member`: programme tags as WeChat user tags and who carries them
at WeChat (a sync sends only the difference).
`member.window_at`: when the member last opened WeChat's 48-hour customer-service window
(a message, a menu click, a subscribe, a scan, a WeChat Pay payment), apart from
`last_seen_at`, which a link tap (VIEW) also moves (activity).

Revision ID: 0023_reach
Revises: 0022_identity
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0023_reach"
down_revision: Union[str, Sequence[str], None] = "0022_identity"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_at", sa.DateTime(), nullable=True))
    # Until now last_seen_at was moved only by what opens the window (VIEW reached no
    # handler): it is the best record of the window there is.
    op.execute("UPDATE member SET window_at = last_seen_at")
    op.create_table(
        "mass_job",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("clientmsgid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occasion", sa.String(length=80), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("msg_id", sa.BigInteger(), nullable=True),
        sa.Column("msg_data_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("report", sa.String(length=60), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("filtered", sa.Integer(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clientmsgid"),
    )
    with op.batch_alter_table("mass_job", schema=None) as batch_op:
        batch_op.create_index("ix_mass_job_msg_id", ["msg_id"], unique=False)
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mass_job_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_delivery_mass_job_id", ["mass_job_id"], unique=False)
    op.create_table(
        "wechat_tag",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("wechat_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("wechat_id"),
    )
    op.create_table(
        "wechat_tag_member",
        sa.Column("tag", sa.String(length=30), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("tagged_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["tag"], ["wechat_tag.name"]),
        sa.PrimaryKeyConstraint("tag", "member_id"),
    )
    with op.batch_alter_table("wechat_tag_member", schema=None) as batch_op:
        batch_op.create_index("ix_wechat_tag_member_member_id", ["member_id"], unique=False)
    # The service notices' planners read recent adjustments and tier changes.
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_points_ledger_reason_at", ["reason", "created_at"], unique=False)
    with op.batch_alter_table("tier_history", schema=None) as batch_op:
        batch_op.create_index("ix_tier_history_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tier_history", schema=None) as batch_op:
        batch_op.drop_index("ix_tier_history_at")
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_ledger_reason_at")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_mass_job_id")
        batch_op.drop_column("mass_job_id")
    op.drop_table("wechat_tag_member")
    op.drop_table("wechat_tag")
    op.drop_table("mass_job")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("window_at")
