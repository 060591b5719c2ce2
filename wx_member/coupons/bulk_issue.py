"""Issuing coupons in bulk: a campaign to a list of members or a tier and up, the daily
birthday gift and the monthly gift (每月礼券) of each tier. Set-based: per batch of 1,000
members, one INSERT of coupons that skips causes already issued (INSERT ... ON CONFLICT DO
NOTHING / ON DUPLICATE KEY), one INSERT of their issue events, one transaction. Running a
campaign twice, or in two processes at once, issues each member's coupon once (the cause
`campaign:<key>:<member>` is unique).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, exists, extract, select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.clock import local_day, utcnow
from wx_member.models import Coupon, CouponEvent, CouponTemplate, Member, MemberMerge
from wx_member.coupons import stock, templates
from wx_member.coupons import wallet
from wx_member.loyalty import tiers
from wx_member.platform import keyset
from wx_member.platform.errors import InvalidAmount
from wx_member.row_writes import insert_ignoring_duplicates

log = logging.getLogger(__name__)
BATCH = 1000


@dataclass
class BulkResult:
    issued: int = 0  # coupons issued now
    already: int = 0  # members who had this cause's coupon before (replays)
    below_tier: int = 0  # members whose tier is below the template's
    unknown: int = 0  # ids that are not members (or no longer: erased, merged away)
    sold_out: int = 0  # members left without one: the template issued its limit


def issue_many(session: Session, template: CouponTemplate, wanted: dict[str, Member | Any],
               reason: str, now: datetime, result: BulkResult) -> None:
    """Issue one coupon per cause in `wanted` (cause → row with id and tier) inside the
    caller's transaction, skipping causes issued before, members below the tier and, once
    the template's stock runs out, the rest (counted in `sold_out`)."""
    todo = {}
    issued_before = result.issued
    for cause, m in wanted.items():
        if templates.tier_allows(template, m.tier):
            todo[cause] = m
        else:
            result.below_tier += 1
    if not todo:
        return
    seen = set(session.scalars(select(Coupon.cause).where(Coupon.cause.in_(list(todo)))))
    result.already += len(seen)
    todo = {c: m for c, m in todo.items() if c not in seen}
    if not todo:
        return
    # The template's row stays locked to the end of the transaction: a concurrent issue
    # waits, then sees what this batch took.
    left = stock.room(session, template.id)
    if left is not None and left < len(todo):
        result.sold_out += len(todo) - left
        todo = dict(list(todo.items())[:left])  # the first members of the batch get one
    _insert(session, template, todo, reason, now, result)
    stock.taken(session, template.id, result.issued - issued_before)


def _insert(session: Session, template: CouponTemplate, todo: dict, reason: str,
            now: datetime, result: BulkResult) -> None:
    valid_from, valid_until = templates.validity(template, now)
    for _ in range(3):  # a code collision leaves its cause behind: draw again
        if not todo:
            return
        mine = {c: wallet.new_code() for c in todo}
        insert_ignoring_duplicates(session, Coupon.__table__, [
            {"code": mine[c], "template_id": template.id, "member_id": m.id, "cause": c,
             "status": "available", "issued_at": now, "valid_from": valid_from,
             "valid_until": valid_until} for c, m in todo.items()])
        rows = session.execute(select(Coupon.id, Coupon.member_id, Coupon.cause, Coupon.code)
                               .where(Coupon.cause.in_(list(todo)))).all()
        ours = [r for r in rows if mine[r.cause] == r.code]
        insert_ignoring_duplicates(session, CouponEvent.__table__, [
            {"coupon_id": r.id, "member_id": r.member_id, "from_status": None,
             "to_status": "available", "reason": reason, "idem_key": f"issue:{r.cause}",
             "created_at": now} for r in ours])
        result.issued += len(ours)
        result.already += len(rows) - len(ours)  # another process issued them meanwhile
        done = {r.cause for r in rows}
        todo = {c: m for c, m in todo.items() if c not in done}
    if todo:
        raise RuntimeError(f"could not draw free coupon codes for {len(todo)} coupons")


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for i in ids:
        chunk.append(i)
        if len(chunk) == BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def issue_campaign(uow: UnitOfWork, template_id: int, key: str, *,
                   member_ids: Iterable[int] | None = None, min_tier: str | None = None,
                   now: datetime | None = None) -> BulkResult:
    """Use case: a campaign coupon for each of `member_ids`, or for every member at
    `min_tier` or above; once per member and campaign `key`."""
    if not key.strip() or len(key) > 60 or ":" in key:
        raise InvalidAmount(f"bad campaign key {key!r}",
                            user_message="活动编号须为 1–60 个字符，且不含冒号。")
    if (member_ids is None) == (min_tier is None):
        raise InvalidAmount("give member ids or a tier", user_message="请指定会员或会员等级。")
    if min_tier is not None and min_tier not in tiers.LADDER:
        raise InvalidAmount(f"unknown tier {min_tier!r}", user_message="会员等级无效。")
    now = now or utcnow()
    with uow.read() as session:
        template = templates.active(session, template_id)
    result = BulkResult()
    if member_ids is not None:
        for chunk in _chunks(dict.fromkeys(member_ids)):  # dedupe, keep order
            with uow.write() as session:
                found = session.execute(select(Member.id, Member.tier)
                                        .where(Member.id.in_(chunk), _current())).all()
                result.unknown += len(chunk) - len(found)  # erased or merged away too
                issue_many(session, template, {f"campaign:{key}:{m.id}": m for m in found},
                           "campaign", now, result)
    else:
        ranks = [t for t in tiers.LADDER if tiers.rank(t) >= tiers.rank(min_tier)]
        query = select(Member.id, Member.tier).where(Member.tier.in_(ranks), _current())
        for session, found in keyset.batches(uow.write, query, Member.id, size=BATCH):
            issue_many(session, template, {f"campaign:{key}:{m.id}": m for m in found},
                       "campaign", now, result)
    log.info("campaign %s (template %s): %s", key, template_id, result)
    return result


def issue_birthday_coupons(uow: UnitOfWork, tz: ZoneInfo, now: datetime | None = None) -> BulkResult:
    """Use case (daily job): the birthday gift of each member's tier (settings
    `tier_<tier>_birthday_coupon_template`, set on the console's tiers screen) for every
    member born on today's local month and day (29 February counts on 28 February in other
    years), once per member and year (cause `birthday:<member>:<year>`, whatever the tier).
    Erased and merged-away members have no birthday (it is cleared or moved), so none is
    born today."""
    now = now or utcnow()
    today: date = local_day(now, tz)
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        days.append(29)
    result = BulkResult()
    by_tier = _gift_templates(uow, "birthday")
    giving = _giving(by_tier)
    if giving is not None:
        born_today = select(Member.id, Member.tier).where(
            extract("month", Member.birthday) == today.month,
            extract("day", Member.birthday).in_(days), giving)
        _issue_by_tier(uow, born_today, by_tier, lambda m: f"birthday:{m.id}:{today.year}",
                       "birthday", now, result)
    log.info("birthday coupons %s: %s", today, result)
    return result


def issue_monthly_gifts(uow: UnitOfWork, tz: ZoneInfo, now: datetime | None = None) -> BulkResult:
    """Use case (daily job): 每月礼券, the monthly gift of each member's current tier
    (settings `tier_<tier>_monthly_coupon_template`, set on the console's tiers screen), once
    per member and local month of `now` (cause `monthly:<member>:<YYYY-MM>`, whatever the
    tier: a member who moves up during the month is not given a second one). Run daily, so
    a member who joins or reaches a giving tier during the month gets it the next night,
    and a day the scheduler missed is made up the day after. Members whose data was erased
    or who were merged into another member (the survivor gets it) are skipped."""
    now = now or utcnow()
    month = local_day(now, tz).strftime("%Y-%m")
    result = BulkResult()
    by_tier = _gift_templates(uow, "monthly")
    giving = _giving(by_tier)
    if giving is not None:
        current = select(Member.id, Member.tier).where(giving, _current())
        _issue_by_tier(uow, current, by_tier, lambda m: f"monthly:{m.id}:{month}", "monthly",
                       now, result)
    log.info("monthly gifts %s: %s", month, result)
    return result


def _current() -> ColumnElement[bool]:
    """Members a coupon can still go to: not erased, not merged into another member (the
    survivor of a merge holds the person's coupons)."""
    merged_away = exists().where(MemberMerge.absorbed_id == Member.id,
                                 MemberMerge.undone_at.is_(None))
    return Member.erased_at.is_(None) & ~merged_away


def _gift_templates(uow: UnitOfWork, gift: str) -> dict[str, CouponTemplate | None]:
    """Each tier's active `gift` template (settings `tier_<tier>_<gift>_coupon_template`)."""
    with uow.read() as session:
        return {tier: wallet.template_by_setting(session, wallet.gift_template_key(tier, gift))
                for tier in tiers.LADDER}


def _giving(by_tier: dict[str, CouponTemplate | None]) -> ColumnElement[bool] | None:
    """Which members' tier gives a template (an unknown tier counts as 普通会员); None:
    no tier gives one."""
    giving = [tier for tier, template in by_tier.items() if template is not None]
    if not giving:
        return None
    if by_tier["normal"] is None:
        return Member.tier.in_(giving)
    return Member.tier.not_in([t for t in tiers.LADDER if t not in giving])


def _issue_by_tier(uow: UnitOfWork, members: Select, by_tier: dict[str, CouponTemplate | None],
                   cause: Callable[[Any], str], reason: str, now: datetime,
                   result: BulkResult) -> None:
    """Each member of `members` (id, tier) their tier's template, under `cause(member)`:
    keyset batches of BATCH, one transaction and one INSERT per template per batch."""
    for session, found in keyset.batches(uow.write, members, Member.id, size=BATCH):
        groups: dict[int, tuple] = {}
        for m in found:
            template = by_tier.get(m.tier) or by_tier["normal"]
            groups.setdefault(template.id, (template, {}))[1][cause(m)] = m
        for template, wanted in groups.values():
            issue_many(session, template, wanted, reason, now, result)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
