"""Preference tags: operators define rules (拿铁爱好者 = at least 3 purchases in category 拿铁
within 90 days; or of one SKU), and a daily job tags the members who meet each rule and
untags those who no longer do, set-based (one INSERT ... SELECT and one DELETE per rule,
whatever the member count).

A purchase counts when it is an order with a line of the category (or SKU), paid within
the last `within_days` days, and not fully refunded; several lines of one order count once.
The tags are `member_tag` rows with `created_by` "rule:<id>": segments, campaigns and the
console see them like operators' tags. The job removes only its own rows, so an operator's
tag of the same name stays; a disabled rule's tags are removed at the next run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.members.formats import TAG_RE
from wx_member.models import MemberTag, Order, OrderLine, TagRule
from wx_member.payments.price_lists import SKU_RE
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

KINDS = ("category", "sku")


class InvalidTagRule(DomainError):
    code = "INVALID_TAG_RULE"
    user_message = "标签规则无效。"


@dataclass(frozen=True)
class Tagged:
    rule_id: int
    tag: str
    added: int
    removed: int


def _whole(value, low: int, high: int, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidTagRule(f"{value!r} outside {low}..{high}", user_message=message)
    return value


def add(uow: UnitOfWork, tag: str, kind: str, value: str, min_purchases: int,
        within_days: int, by: str) -> TagRule:
    """Use case: an operator defines a rule (audited). Members are tagged at the next run."""
    tag, value = (tag or "").strip(), (value or "").strip()
    if not TAG_RE.match(tag):
        raise InvalidTagRule(f"bad tag {tag!r}", user_message="标签须为 1–20 个字（中文、字母、数字、_ -）。")
    if kind not in KINDS:
        raise InvalidTagRule(f"kind {kind!r}", user_message="规则类型须为 category（品类）或 sku（商品）。")
    if kind == "sku" and not SKU_RE.match(value) or not value or len(value) > 40:
        raise InvalidTagRule(f"value {value!r}", user_message="品类或商品编码无效。")
    _whole(min_purchases, 1, 1000, "购买次数须为 1–1000。")
    _whole(within_days, 1, 3650, "天数须为 1–3650。")
    with uow.write() as session:
        if session.scalar(select(TagRule.id).where(TagRule.tag == tag)) is not None:
            raise InvalidTagRule(f"tag {tag} has a rule", user_message=f"标签「{tag}」已有规则。")
        rule = TagRule(tag=tag, kind=kind, value=value, min_purchases=min_purchases,
                       within_days=within_days, enabled=True, created_by=by[:60],
                       created_at=utcnow())
        session.add(rule)
        session.flush()
        audit.record(session, by, "tag_rule.add", tag, None, describe(rule))
        return rule


def disable(uow: UnitOfWork, rule_id: int, by: str) -> TagRule:
    """Use case: stop a rule; its tags are removed at the next run."""
    with uow.write() as session:
        rule = session.get(TagRule, rule_id, with_for_update=True)
        if rule is None:
            raise InvalidTagRule(f"no rule {rule_id}", user_message="标签规则不存在。")
        if rule.enabled:
            rule.enabled = False
            audit.record(session, by, "tag_rule.disable", rule.tag, describe(rule), None)
        return rule


def rules(uow: UnitOfWork) -> list[TagRule]:
    """Use case (a read): every rule, oldest first."""
    with uow.read() as session:
        return list(session.scalars(select(TagRule).order_by(TagRule.id)))


def describe(rule: TagRule) -> str:
    what = f"品类「{rule.value}」" if rule.kind == "category" else f"商品 {rule.value}"
    off = "" if rule.enabled else "（已停用）"
    return f"{rule.tag}：{rule.within_days} 天内购买{what}至少 {rule.min_purchases} 次{off}"


def qualifying(rule: TagRule, now: datetime):
    """SELECT member_id of the members who meet `rule` at `now` (a subquery)."""
    line = OrderLine.category if rule.kind == "category" else OrderLine.sku
    return (select(Order.member_id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(line == rule.value, Order.member_id.is_not(None),
                   Order.paid_at >= now - timedelta(days=rule.within_days),
                   Order.status != "refunded")
            .group_by(Order.member_id)
            .having(func.count(func.distinct(Order.id)) >= rule.min_purchases))


def apply_rule(session: Session, rule: TagRule, now: datetime) -> Tagged:
    """Tag and untag for one rule, inside the caller's transaction."""
    mine = f"rule:{rule.id}"
    removed = session.execute(delete(MemberTag).where(
        MemberTag.created_by == mine, MemberTag.tag == rule.tag,
        *([MemberTag.member_id.not_in(qualifying(rule, now))] if rule.enabled else []))
        .execution_options(synchronize_session=False)).rowcount
    added = 0
    if rule.enabled:
        wanted = qualifying(rule, now).subquery()
        already = select(MemberTag.member_id).where(MemberTag.tag == rule.tag)
        added = session.execute(insert(MemberTag).from_select(
            ["member_id", "tag", "created_at", "created_by"],
            select(wanted.c.member_id, literal(rule.tag), literal(now), literal(mine))
            .where(wanted.c.member_id.not_in(already)))).rowcount
    return Tagged(rule.id, rule.tag, added, removed)


def run(uow: UnitOfWork, now: datetime | None = None) -> list[Tagged]:
    """Use case (the daily job): every rule, one transaction each."""
    now = now or utcnow()
    with uow.read() as session:
        ids = list(session.scalars(select(TagRule.id).order_by(TagRule.id)))
    done = []
    for rule_id in ids:
        with uow.write() as session:
            done.append(apply_rule(session, session.get(TagRule, rule_id), now))
    return done
