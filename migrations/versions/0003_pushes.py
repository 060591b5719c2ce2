"""Pushes: delivery, member_reach, subscribe_grant, scheduler_lease, token_cache, and
APScheduler's job store table.

`apscheduler_jobs` is created here, with exactly the columns APScheduler 3's
SQLAlchemyJobStore declares (its own `create(checkfirst=True)` then finds it and does
nothing): the schema is made only by migrations, so `/readyz`, backups and a read-only
database user see every table, and the job store never issues DDL at run time.

Revision ID: 0003_pushes
Revises: 0002_payments
Create Date: 2026-11-26
"""
from datetime import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0003_pushes"
down_revision: Union[str, Sequence[str], None] = "0002_payments"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=True),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occasion", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("msgid", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("openid", "kind", "occasion", name="uq_delivery_occasion"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_delivery_member_recent", ["member_id", "created_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_msgid"), ["msgid"], unique=False)

    op.create_table(
        "member_reach",
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "channel"),
    )
    op.create_table(
        "subscribe_grant",
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("member_id", "template_id"),
    )
    lease = op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("renewed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    # The row exists from the start: taking the lease is then one conditional UPDATE, with
    # no insert race between two processes starting at once.
    op.bulk_insert(lease, [{"name": "scheduler", "holder": None,
                            "expires_at": datetime(2000, 1, 1)}])
    op.create_table(
        "token_cache",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("refreshing_until", sa.DateTime(), nullable=True),
        sa.Column("refresher", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    # APScheduler 3.x SQLAlchemyJobStore's table (191: the longest utf8mb4 InnoDB key).
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_apscheduler_jobs_next_run_time", ["next_run_time"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("apscheduler_jobs")
    op.drop_table("token_cache")
    op.drop_table("scheduler_lease")
    op.drop_table("subscribe_grant")
    op.drop_table("member_reach")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_msgid"))
        batch_op.drop_index("ix_delivery_member_recent")
        batch_op.drop_index("ix_delivery_due")
    op.drop_table("delivery")
