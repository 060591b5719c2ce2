"""A member's WeChat Pay orders by status and time: `ix_jsapi_order_member_status_created`
(member_id, status, created_at) replaces `ix_jsapi_order_member_status` (member_id, status).

A recharge or a paid membership looks for the member's own open order from the last minute
before making another (a second tap returns the first: `member_id = ? AND status =
'created' AND created_at >= ?`). SQLite answered it through the reconciliation job's
`ix_jsapi_order_status_created`, whose two columns matched more of the query than the
member's index did, and so read every open order of the whole programme from the last
minute (tests/test_query_plans.py found it). The new index answers from the member's own
entries and serves every lookup the old one did (its first two columns). On MariaDB it is
created before the old one is dropped: the foreign key to `member` always has an index.
Indexes only: a previous release still serving runs unchanged beside it (docs/deploy.md).

Revision ID: 0041_jsapi_order_member_index
Revises: 0040_audit_log_target_index
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0041_jsapi_order_member_index"
down_revision: Union[str, Sequence[str], None] = "0040_audit_log_target_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_jsapi_order_member_status_created", "jsapi_order",
                    ["member_id", "status", "created_at"])
    op.drop_index("ix_jsapi_order_member_status", table_name="jsapi_order")


def downgrade() -> None:
    op.create_index("ix_jsapi_order_member_status", "jsapi_order", ["member_id", "status"])
    op.drop_index("ix_jsapi_order_member_status_created", table_name="jsapi_order")
