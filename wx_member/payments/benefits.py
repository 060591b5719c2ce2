"""Benefits configuration (operators change it; every change is audited): a tier's everyday
discount and the categories it excludes, and member days (a weekday or a day of the month,
per tier, a discount and/or a points multiplier). Member price lists are
payments/price_lists.py's, which checks tiers and reports errors through the helpers here.
What a basket then costs a member is payments/pricing.py's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.loyalty import tiers
from wx_member.models import MemberDay, TierDiscount
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

CATEGORY_MAX = 30


class InvalidBenefit(DomainError):
    code = "INVALID_BENEFIT"
    user_message = "会员权益设置无效。"


def check_tier(tier: str) -> str:
    if tier not in tiers.LADDER:
        raise InvalidBenefit(f"unknown tier {tier!r}",
                             user_message=f"会员等级无效：{tier}（可选 {'、'.join(tiers.LADDER)}）。")
    return tier


def _percent(value, low: int, high: int, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidBenefit(f"{value!r} outside {low}..{high}", user_message=message)
    return value


def categories(raw) -> list[str]:
    """Category names from a list or a comma-separated text (，too), stripped, unique."""
    items = raw.replace("，", ",").split(",") if isinstance(raw, str) else list(raw or [])
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        if len(item) > CATEGORY_MAX:
            raise InvalidBenefit(f"category {item!r} too long",
                                 user_message=f"品类名称过长（最多 {CATEGORY_MAX} 字）：{item}")
        if item not in out:
            out.append(item)
    return out


# ---- tier discounts ------------------------------------------------------------------

def set_tier_discount(uow: UnitOfWork, tier: str, percent: int, excluded, by: str) -> TierDiscount:
    """Use case: a tier pays `percent` % of list prices (95 = 95折; 100 = no discount),
    except in the `excluded` categories."""
    check_tier(tier)
    _percent(percent, 1, 100, "折扣须为 1–100 的整数（95 表示 95折，100 表示不打折）。")
    excluded = categories(excluded)
    with uow.write() as session:
        row = session.scalar(select(TierDiscount).where(TierDiscount.tier == tier)
                             .with_for_update())
        before = None if row is None else {"percent": row.percent,
                                           "excluded": list(row.excluded_categories)}
        if row is None:
            row = TierDiscount(tier=tier)
            session.add(row)
        row.percent, row.excluded_categories = percent, excluded
        row.updated_by, row.updated_at = by[:60], utcnow()
        audit.record(session, by, "benefits.tier_discount", tier, before,
                     {"percent": percent, "excluded": excluded})
        return row


# ---- member days ---------------------------------------------------------------------

@dataclass
class MemberDaySpec:
    name: str
    kind: str  # weekday | monthday
    day: int
    tier: str | None = None
    discount_percent: int | None = None
    points_percent: int | None = None
    excluded: list[str] = field(default_factory=list)


def check_member_day(spec: MemberDaySpec) -> None:
    if not spec.name.strip() or len(spec.name) > 60:
        raise InvalidBenefit("a name of 1 to 60 characters", user_message="请填写会员日名称（最多 60 字）。")
    if spec.kind == "weekday":
        _percent(spec.day, 1, 7, "星期须为 1–7（周一为 1）。")
    elif spec.kind == "monthday":
        _percent(spec.day, 1, 31, "每月日期须为 1–31。")
    else:
        raise InvalidBenefit(f"kind {spec.kind!r}", user_message="会员日类型须为 weekday 或 monthday。")
    if spec.tier is not None:
        check_tier(spec.tier)
    if spec.discount_percent is None and spec.points_percent is None:
        raise InvalidBenefit("neither discount nor multiplier",
                             user_message="会员日须设置折扣或积分倍数。")
    if spec.discount_percent is not None:
        _percent(spec.discount_percent, 1, 99, "会员日折扣须为 1–99 的整数（80 表示 8折）。")
    if spec.points_percent is not None:
        _percent(spec.points_percent, 101, 1000, "积分倍数须为 101–1000（200 表示双倍）。")


def add_member_day(uow: UnitOfWork, spec: MemberDaySpec, by: str) -> MemberDay:
    """Use case: an operator adds a member day (for `spec.tier`, or all members)."""
    return add_member_days(uow, spec, [spec.tier] if spec.tier else [], by)[0]


def add_member_days(uow: UnitOfWork, spec: MemberDaySpec, tier_list: list[str],
                    by: str) -> list[MemberDay]:
    """Use case: one member day for several tiers (a row each, one transaction); no tiers
    or every tier: one row for all members."""
    chosen = [t for t in tiers.LADDER if t in set(tier_list)]
    for tier in tier_list:
        check_tier(tier)
    specs = [spec] if not chosen or len(chosen) == len(tiers.LADDER) else \
        [MemberDaySpec(spec.name, spec.kind, spec.day, tier, spec.discount_percent,
                       spec.points_percent, spec.excluded) for tier in chosen]
    for one in specs:
        check_member_day(one)
    with uow.write() as session:
        rows = []
        for one in specs:
            row = MemberDay(name=one.name.strip(), kind=one.kind, day=one.day, tier=one.tier,
                            discount_percent=one.discount_percent,
                            points_percent=one.points_percent,
                            excluded_categories=categories(one.excluded), enabled=True,
                            created_by=by[:60], created_at=utcnow())
            session.add(row)
            session.flush()
            audit.record(session, by, "benefits.member_day.add", str(row.id), None,
                         describe_day(row))
            rows.append(row)
        return rows


def disable_member_day(uow: UnitOfWork, day_id: int, by: str) -> MemberDay:
    """Use case: stop a member day (kept, never deleted). Twice changes nothing."""
    with uow.write() as session:
        row = session.get(MemberDay, day_id, with_for_update=True)
        if row is None:
            raise InvalidBenefit(f"no member day {day_id}", user_message="会员日不存在。")
        if row.enabled:
            row.enabled = False
            audit.record(session, by, "benefits.member_day.disable", str(row.id),
                         describe_day(row), None)
        return row


def describe_day(row: MemberDay) -> str:
    """An operator's line, e.g. 银卡会员日：每周二 银卡会员 8折."""
    weekdays = "一二三四五六日"
    when = f"每周{weekdays[row.day - 1]}" if row.kind == "weekday" else f"每月{row.day}日"
    what = []
    if row.discount_percent:
        what.append(f"{row.discount_percent / 10:g}折")
    if row.points_percent:
        what.append(f"积分×{row.points_percent}%")
    excluded = f"（不含 {'、'.join(row.excluded_categories)}）" if row.excluded_categories else ""
    off = "" if row.enabled else "（已停用）"
    return (f"{row.name}：{when} {tier_name(row.tier) if row.tier else '全部会员'} "
            f"{' '.join(what)}{excluded}{off}")
