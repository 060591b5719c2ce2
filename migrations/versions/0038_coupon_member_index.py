"""A member's coupons by status and end of validity: `ix_coupon_member_status_until`
(member_id, status, valid_until) replaces `ix_coupon_member_id`.

A member's usable coupons (`member_id = ? AND status = 'available' AND valid_until > ?`: the
mini-program's 我的优惠券 and every quote at a till or 到店买单) were found on SQLite through
`ix_coupon_status_until`, the expiry job's index: its two columns matched more of the
query than `member_id` alone, so each read walked every available coupon of the
programme (100,000 members with two each: 200,000 index entries a quote). The new index
answers those reads from the member's own entries and still serves every lookup by member
alone (its first column), so it replaces the old one and a join's coupon files as many
index entries as before, not one more. On MariaDB it is created before the old one is
dropped: the foreign key to `member` always has an index to use. Indexes only: a previous
release still serving runs unchanged beside it (a rolling upgrade, docs/deploy.md).

Revision ID: 0038_coupon_member_index
Revises: 0037_wechat_untag
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0038_coupon_member_index"
down_revision: Union[str, Sequence[str], None] = "0037_wechat_untag"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_coupon_member_status_until", "coupon",
                    ["member_id", "status", "valid_until"])
    op.drop_index("ix_coupon_member_id", table_name="coupon")


def downgrade() -> None:
    op.create_index("ix_coupon_member_id", "coupon", ["member_id"])
    op.drop_index("ix_coupon_member_status_until", table_name="coupon")
