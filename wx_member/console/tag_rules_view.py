"""Read model: the preference-tag rules as the console lists them, each with how many
members hold its tag (the rows its job wrote, `created_by` "rule:<id>")."""
from __future__ import annotations

from sqlalchemy import func, select

from wx_member.console.tag_rules import describe
from wx_member.db import UnitOfWork
from wx_member.models import MemberTag, TagRule


def listed(uow: UnitOfWork) -> list[dict]:
    """Use case (a read): every rule, in force first, with its holders' count."""
    with uow.read() as session:
        held = dict(session.execute(
            select(MemberTag.created_by, func.count()).where(MemberTag.created_by.like("rule:%"))
            .group_by(MemberTag.created_by)).all())
        rules = session.scalars(select(TagRule).order_by(TagRule.enabled.desc(), TagRule.id))
        return [{"id": r.id, "tag": r.tag, "kind": r.kind, "value": r.value,
                 "min_purchases": r.min_purchases, "within_days": r.within_days,
                 "enabled": r.enabled, "text": describe(r), "holders": held.get(f"rule:{r.id}", 0)}
                for r in rules]
