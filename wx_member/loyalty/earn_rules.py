"""Dated earn rules: double-points days and member days, operator-made rows in `earn_rule`.

A rule multiplies what a payment earns on some local days of the programme's zone:
`dates` rules on every day from one date to another (a double-points day is a range of
one day), `weekday` rules on one ISO weekday (1 = Monday), e.g. 会员日 every Tuesday,
optionally only between two dates. The payment's time (WeChat's `time_end` /
`success_time`, else when the notify arrived) decides the day, in `config.tz`.

When several rules apply to one day, **the highest multiplier wins**; multipliers are not
stacked (a 200 % member day on a 300 % double day earns 300 %, not 600 %). Ties go to the
older rule. The multiplier joins the earn rule's single rounding (loyalty/tiers.py):

    points = floor(amount_fen × points_per_yuan × tier_rate% × multiplier% ÷ 1,000,000)

Rules are never deleted, only disabled (orders keep the id of the rule they earned with).
Changes apply to the next payment; orders already credited keep what they earned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, bindparam, or_, select
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import EarnRule
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

BASE = 100  # percent: no rule applies
MAX_MULTIPLIER = 1000  # 10×; more is a typo (2000 meant 200), not a promotion
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class InvalidRule(DomainError):
    code = "INVALID_RULE"
    user_message = "积分规则无效。"


@dataclass(frozen=True)
class Multiplier:
    percent: int  # 100 when no rule applies
    rule_id: int | None = None
    name: str | None = None


_E = EarnRule.__table__
_DAY = bindparam("day", type_=Date)
_BEST = (select(_E.c.id, _E.c.name, _E.c.multiplier_percent)  # built once: every payment's
         .where(_E.c.enabled.is_(True),
                or_(_E.c.starts_on.is_(None), _E.c.starts_on <= _DAY),
                or_(_E.c.ends_on.is_(None), _E.c.ends_on >= _DAY),
                or_(_E.c.kind == "dates", _E.c.weekday == bindparam("weekday")))
         .order_by(_E.c.multiplier_percent.desc(), _E.c.id).limit(1))


def multiplier_on(session: Session, day: date) -> Multiplier:
    """The multiplier of local date `day`: the highest enabled rule that applies, or 100."""
    found = statements.fetch(session, _BEST, {"day": day, "weekday": day.isoweekday()})
    if not found:
        return Multiplier(BASE)
    rule = found[0]
    return Multiplier(rule.multiplier_percent, rule.id, rule.name)


def parse_weekday(text: str) -> int:
    """'2', 'tue', 'Tuesday' or '周二' → 2 (ISO: Monday is 1)."""
    t = text.strip().lower()
    if t.isdigit() and 1 <= int(t) <= 7:
        return int(t)
    for i, (name, zh) in enumerate(zip(WEEKDAYS, WEEKDAYS_ZH), start=1):
        if t == zh or (len(t) >= 3 and name.startswith(t)):
            return i
    raise InvalidRule(f"weekday must be 1-7 (Monday = 1), a weekday name or 周一..周日, "
                      f"got {text!r}")


def _check(name: str, multiplier: int, starts_on: date | None, ends_on: date | None) -> None:
    if not name.strip() or len(name) > 60:
        raise InvalidRule(f"a rule needs a name of 1 to 60 characters, got {name!r}",
                          user_message="请填写活动名称（1-60 个字）。")
    if not isinstance(multiplier, int) or not BASE < multiplier <= MAX_MULTIPLIER:
        raise InvalidRule(f"multiplier is a percentage above {BASE} and at most "
                          f"{MAX_MULTIPLIER} (200 = double points), got {multiplier!r}",
                          user_message=f"积分倍率须大于 {BASE}% 且不超过 {MAX_MULTIPLIER}%"
                                       "（200% 为双倍积分）。")
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidRule(f"a rule cannot end ({ends_on}) before it starts ({starts_on})",
                          user_message="结束日期不能早于开始日期。")


def _add(uow: UnitOfWork, rule: EarnRule) -> EarnRule:
    with uow.write() as session:
        session.add(rule)
        session.flush()
        audit.record(session, rule.created_by or "cli", "earn_rule.create",
                     f"earn_rule:{rule.id}", None,
                     {"name": rule.name, "text": describe_zh(rule)})
    return rule


def add_days(uow: UnitOfWork, starts_on: date, ends_on: date | None = None, *,
             multiplier: int = 200, name: str = "双倍积分日", by: str = "cli") -> EarnRule:
    """Use case: a double-points day (or range of days, inclusive)."""
    ends_on = ends_on or starts_on
    _check(name, multiplier, starts_on, ends_on)
    return _add(uow, EarnRule(name=name.strip(), kind="dates", starts_on=starts_on,
                              ends_on=ends_on, multiplier_percent=multiplier,
                              enabled=True, created_by=by, created_at=utcnow()))


def add_weekday(uow: UnitOfWork, weekday: int, *, multiplier: int = 200,
                name: str = "会员日", starts_on: date | None = None,
                ends_on: date | None = None, by: str = "cli") -> EarnRule:
    """Use case: a member day every `weekday` (1 = Monday), optionally between two dates."""
    if not isinstance(weekday, int) or not 1 <= weekday <= 7:
        raise InvalidRule(f"weekday must be 1-7 (Monday = 1), got {weekday!r}")
    _check(name, multiplier, starts_on, ends_on)
    return _add(uow, EarnRule(name=name.strip(), kind="weekday", weekday=weekday,
                              starts_on=starts_on, ends_on=ends_on,
                              multiplier_percent=multiplier, enabled=True, created_by=by,
                              created_at=utcnow()))


def rules(session: Session, include_disabled: bool = False) -> list[EarnRule]:
    q = select(EarnRule).order_by(EarnRule.id)
    if not include_disabled:
        q = q.where(EarnRule.enabled.is_(True))
    return list(session.scalars(q))


def disable(uow: UnitOfWork, rule_id: int, by: str = "cli") -> EarnRule:
    """Use case: stop a rule from the next payment on. Disabling twice changes nothing."""
    with uow.write() as session:
        rule = session.get(EarnRule, rule_id, with_for_update=True)
        if rule is None:
            raise InvalidRule(f"no earn rule {rule_id}")
        if rule.enabled:
            rule.enabled, rule.disabled_by, rule.disabled_at = False, by, utcnow()
            audit.record(session, by, "earn_rule.disable", f"earn_rule:{rule.id}", None,
                         {"name": rule.name, "text": describe_zh(rule)})
    return rule


def describe_zh(rule: EarnRule) -> str:
    """The rule in an operator's words, e.g. 每周二 积分 ×2, 2026-12-12 至 2026-12-12 积分 ×3."""
    times = f"{rule.multiplier_percent / 100:g}"
    if rule.kind == "weekday":
        when = f"每{WEEKDAYS_ZH[rule.weekday - 1]}"
        if rule.starts_on or rule.ends_on:
            when += f"（{rule.starts_on or '…'} 至 {rule.ends_on or '…'}）"
    elif rule.starts_on == rule.ends_on:
        when = f"{rule.starts_on}"
    else:
        when = f"{rule.starts_on} 至 {rule.ends_on}"
    return f"{when} 积分 ×{times}"


def describe(rule: EarnRule) -> str:
    """One line for operators, e.g. `会员日: every Tuesday ×200%`."""
    if rule.kind == "weekday":
        when = f"every {WEEKDAYS[rule.weekday - 1].capitalize()}"
        if rule.starts_on or rule.ends_on:
            when += f" from {rule.starts_on or '…'} to {rule.ends_on or '…'}"
    elif rule.starts_on == rule.ends_on:
        when = f"on {rule.starts_on}"
    else:
        when = f"{rule.starts_on} to {rule.ends_on}"
    state = "" if rule.enabled else f" (disabled {rule.disabled_at:%Y-%m-%d} by {rule.disabled_by})"
    return f"{rule.name}: {when} ×{rule.multiplier_percent}%{state}"
