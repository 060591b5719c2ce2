"""Benefits configuration (operators change it; every change is audited): a tier's everyday
discount and the categories it excludes, member days (a weekday or a day of the month, per
tier, a discount and/or a points multiplier), and member price lists (SKU -> price by tier,
imported from CSV with a Chinese error per bad row). What a basket then costs a member is
payments/pricing.py's.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.loyalty import tiers
from wx_member.models import MemberDay, MemberPrice, TierDiscount
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")
CATEGORY_MAX = 30
MAX_PRICE_FEN = 100_000_000  # a million yuan per unit: more is a typo


class InvalidBenefit(DomainError):
    code = "INVALID_BENEFIT"
    user_message = "会员权益设置无效。"


def _tier(tier: str) -> str:
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
    _tier(tier)
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
        _tier(spec.tier)
    if spec.discount_percent is None and spec.points_percent is None:
        raise InvalidBenefit("neither discount nor multiplier",
                             user_message="会员日须设置折扣或积分倍数。")
    if spec.discount_percent is not None:
        _percent(spec.discount_percent, 1, 99, "会员日折扣须为 1–99 的整数（80 表示 8折）。")
    if spec.points_percent is not None:
        _percent(spec.points_percent, 101, 1000, "积分倍数须为 101–1000（200 表示双倍）。")


def add_member_day(uow: UnitOfWork, spec: MemberDaySpec, by: str) -> MemberDay:
    """Use case: an operator adds a member day."""
    check_member_day(spec)
    excluded = categories(spec.excluded)
    with uow.write() as session:
        row = MemberDay(name=spec.name.strip(), kind=spec.kind, day=spec.day, tier=spec.tier,
                        discount_percent=spec.discount_percent,
                        points_percent=spec.points_percent, excluded_categories=excluded,
                        enabled=True, created_by=by[:60], created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(session, by, "benefits.member_day.add", str(row.id), None, describe_day(row))
        return row


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


# ---- price lists ---------------------------------------------------------------------

@dataclass
class PriceImport:
    written: int
    errors: list[str]  # one Chinese line per refused row; nothing is written when any


def check_sku(sku: str) -> str:
    sku = (sku or "").strip()
    if not SKU_RE.match(sku):
        raise InvalidBenefit(f"bad sku {sku!r}", user_message=f"商品编码格式无效：{sku or '（空）'}"
                             "（字母、数字、. _ -，最多 40 位）")
    return sku


def _price(text: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InvalidBenefit(f"price {text!r}", user_message=f"会员价须为整数（分）：{text}") from None
    if not 0 <= value <= MAX_PRICE_FEN:
        raise InvalidBenefit(f"price {value}", user_message=f"会员价须在 0–{MAX_PRICE_FEN} 分之间：{value}")
    return value


def set_price(session: Session, sku: str, tier: str, price_fen: int, by: str) -> None:
    """One price-list row, inside the caller's transaction (checked), audited."""
    row = session.scalar(select(MemberPrice).where(MemberPrice.sku == sku, MemberPrice.tier == tier)
                         .with_for_update())
    before = None if row is None else row.price_fen
    if row is None:
        row = MemberPrice(sku=sku, tier=tier)
        session.add(row)
    row.price_fen, row.updated_by, row.updated_at = price_fen, by[:60], utcnow()
    session.flush()
    audit.record(session, by, "benefits.member_price", f"{sku}/{tier}", before, price_fen)


def import_prices(uow: UnitOfWork, text: str, by: str) -> PriceImport:
    """Use case: a price list as CSV with the header `sku,tier,price_fen` (tier: normal,
    silver, gold, diamond or its Chinese name). All or nothing: any bad row is reported
    (行 N: reason, in Chinese) and nothing is written."""
    by_name = {tier_name(t): t for t in tiers.LADDER}
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [c.strip().lower() for c in rows[0]] != ["sku", "tier", "price_fen"]:
        return PriceImport(0, ["第 1 行：表头须为 sku,tier,price_fen"])
    errors, good, seen = [], [], {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 3:
            errors.append(f"第 {n} 行：须有 3 列（sku,tier,price_fen），实有 {len(row)} 列")
            continue
        try:
            sku = check_sku(row[0])
            tier = _tier(by_name.get(row[1].strip(), row[1].strip()))
            price = _price(row[2])
        except InvalidBenefit as exc:
            errors.append(f"第 {n} 行：{exc.user_message}")
            continue
        if (sku, tier) in seen:
            errors.append(f"第 {n} 行：与第 {seen[sku, tier]} 行重复（{sku} {tier_name(tier)}）")
            continue
        seen[sku, tier] = n
        good.append((sku, tier, price))
    if errors:
        return PriceImport(0, errors)
    with uow.write() as session:
        for sku, tier, price in good:
            set_price(session, sku, tier, price, by)
    return PriceImport(len(good), [])


def remove_price(uow: UnitOfWork, sku: str, tier: str, by: str) -> bool:
    """Use case: take one row off the price list; False when there was none."""
    sku, tier = check_sku(sku), _tier(tier)
    with uow.write() as session:
        row = session.scalar(select(MemberPrice).where(MemberPrice.sku == sku,
                                                       MemberPrice.tier == tier))
        if row is None:
            return False
        audit.record(session, by, "benefits.member_price", f"{sku}/{tier}", row.price_fen, None)
        session.delete(row)
        return True
