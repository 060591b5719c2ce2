"""The audit log by target first: `ix_audit_log_target_action` (target, action) replaces
`ix_audit_log_target` (action, target).

The console's member page lists the member's newest audit entries (`target = ?`, newest
first, 20): an index that begins with the action cannot serve a lookup by target alone, so
every member page walked the audit log from its newest entry back until it had 20 of that
member's, which for most members is the whole log. The new index serves that lookup and
the privacy export's `action = 'member.name' AND target IN (...)` alike, and replaces the
old one, so an audited change files no more index entries than before. Indexes only: a
previous release still serving runs unchanged beside it.

Revision ID: 0040_audit_log_target_index
Revises: 0039_member_referrer_index
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0040_audit_log_target_index"
down_revision: Union[str, Sequence[str], None] = "0039_member_referrer_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_audit_log_target_action", "audit_log", ["target", "action"])
    op.drop_index("ix_audit_log_target", table_name="audit_log")


def downgrade() -> None:
    op.create_index("ix_audit_log_target", "audit_log", ["action", "target"])
    op.drop_index("ix_audit_log_target_action", table_name="audit_log")
