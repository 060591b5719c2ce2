"""Erasure in the audit log: the entries that name an erased member keep who did what and
when, with the member's openids, unionid and phone, and the names an operator gave them,
replaced by the tombstone (`privacy.erase_member` calls this in its transaction).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from wx_member.models import AuditLog, CardHistory, Member


def scrub_audit(session: Session, personal: list[str], tomb: str) -> None:
    """Replace the member's identifiers wherever an audit entry names them (target, before,
    after). The audit log is operators' actions, not members' events: a scan of it is the
    price of finding identifiers in free JSON, paid once per erasure."""
    if not personal:
        return
    text = [cast(col, String) for col in (AuditLog.before, AuditLog.after)]
    hits = or_(AuditLog.target.in_(personal),
               *[t.contains(p, autoescape=True) for t in text for p in personal])
    for entry in session.scalars(select(AuditLog).where(hits)):
        entry.target = tomb if entry.target in personal else entry.target
        entry.before = _replaced(entry.before, personal, tomb)
        entry.after = _replaced(entry.after, personal, tomb)


def scrub_names(session: Session, m: Member, ids: list[str], tomb: str) -> None:
    """A name is no identifier `scrub_audit` could look for in every entry (two members
    may share one): the entries that gave this member a name lose it."""
    targets = [t for t in (m.card_no, *ids) if t] + list(session.scalars(
        select(CardHistory.card_no).where(CardHistory.member_id == m.id)))
    for entry in session.scalars(select(AuditLog).where(AuditLog.action == "member.name",
                                                        AuditLog.target.in_(targets))):
        entry.before = None if entry.before is None else tomb
        entry.after = None if entry.after is None else tomb


def _replaced(value: Any, personal: list[str], tomb: str) -> Any:
    if isinstance(value, str):
        for p in personal:
            value = value.replace(p, tomb)
        return value
    if isinstance(value, list):
        return [_replaced(v, personal, tomb) for v in value]
    if isinstance(value, dict):
        return {k: _replaced(v, personal, tomb) for k, v in value.items()}
    return value
