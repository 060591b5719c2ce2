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
    """Use case: an operator adds a member day (for `spec.tier`, or all members)."""
    return add_member_days(uow, spec, [spec.tier] if spec.tier else [], by)[0]


def add_member_days(uow: UnitOfWork, spec: MemberDaySpec, tier_list: list[str],
                    by: str) -> list[MemberDay]:
    """Use case: one member day for several tiers (a row each, one transaction); no tiers
    or every tier: one row for all members."""
    chosen = [t for t in tiers.LADDER if t in set(tier_list)]
    for tier in tier_list:
        _tier(tier)
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


# The price list's columns: what each header may be called (the canonical English one
# first), and whether the column holds fen or yuan. A list price (原价) is optional and only
# checked against, never stored: a member price above it is refused.
HEADERS = {"sku": "sku", "商品编码": "sku", "tier": "tier", "会员等级": "tier", "等级": "tier",
           "price_fen": "price_fen", "price_yuan": "price_yuan", "会员价": "price_yuan",
           "会员价（元）": "price_yuan", "list_price_fen": "list_fen",
           "list_price_yuan": "list_yuan", "原价": "list_yuan", "原价（元）": "list_yuan"}
YUAN_RE = re.compile(r"^\d{1,7}(\.\d{1,2})?$")


def _yuan(text: str, what: str) -> int:
    cleaned = str(text).strip().lstrip("¥￥").replace("元", "").strip()
    if not YUAN_RE.match(cleaned):
        raise InvalidBenefit(f"{what} {text!r}",
                             user_message=f"{what}须为金额（元，最多两位小数）：{text}")
    whole, _, cents = cleaned.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def _columns(header: list[str]) -> list[str] | None:
    """The header as canonical names, or None when it is not a price list's."""
    names = [HEADERS.get(c.strip().lower() if c.strip().isascii() else c.strip()) for c in header]
    kinds = [n for n in names if n]
    if None in names or len(set(kinds)) != len(kinds) or "sku" not in kinds \
            or "tier" not in kinds or ("price_fen" in kinds) == ("price_yuan" in kinds) \
            or ("list_fen" in kinds and "list_yuan" in kinds):
        return None
    return names


def _yuan_text(fen: int) -> str:
    return f"{fen / 100:.2f} 元"


def import_prices(uow: UnitOfWork, text: str, by: str) -> PriceImport:
    """Use case: a price list as CSV with the header `sku,tier,price_fen` (tier: normal,
    silver, gold, diamond or its Chinese name), or with the price in yuan (`price_yuan`,
    `会员价`), Chinese column names (商品编码, 会员等级), and optionally the list price
    (`list_price_fen`, `list_price_yuan`, `原价`) to check against. All or nothing: any bad
    row is reported (行 N: reason, in Chinese) and nothing is written. Refused as well: a
    member price above the row's list price, and a tier's price above the price of a lower
    tier for the same SKU in the file (the ladder would reward moving down)."""
    by_name = {tier_name(t): t for t in tiers.LADDER}
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    names = _columns(rows[0]) if rows else None
    if names is None:
        return PriceImport(0, [("第 1 行：表头须为 sku,tier,price_fen"
                                "（或 商品编码,会员等级,会员价；价格按元时用 price_yuan；"
                                "可加一列 原价 用于核对）")])
    header = ",".join(c.strip() for c in rows[0])
    errors, good, seen = [], [], {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(names):
            errors.append(f"第 {n} 行：须有 {len(names)} 列（{header}），实有 {len(row)} 列")
            continue
        cell = dict(zip(names, row))
        try:
            sku = check_sku(cell["sku"])
            tier = _tier(by_name.get(cell["tier"].strip(), cell["tier"].strip()))
            price = (_price(cell["price_fen"]) if "price_fen" in cell
                     else _price(str(_yuan(cell["price_yuan"], "会员价"))))
            listed = (_price(cell["list_fen"]) if cell.get("list_fen", "").strip()
                      else _yuan(cell["list_yuan"], "原价") if cell.get("list_yuan", "").strip()
                      else None)
        except InvalidBenefit as exc:
            errors.append(f"第 {n} 行：{exc.user_message}")
            continue
        if listed is not None and price > listed:
            errors.append(f"第 {n} 行：会员价 {_yuan_text(price)}高于原价 {_yuan_text(listed)}"
                          f"（{sku} {tier_name(tier)}）")
            continue
        if (sku, tier) in seen:
            errors.append(f"第 {n} 行：与第 {seen[sku, tier]} 行重复（{sku} {tier_name(tier)}）")
            continue
        seen[sku, tier] = n
        good.append((sku, tier, price))
    errors += _ladder_errors(good, seen)
    if errors:
        return PriceImport(0, errors)
    with uow.write() as session:
        for sku, tier, price in good:
            set_price(session, sku, tier, price, by)
    return PriceImport(len(good), [])


def _ladder_errors(good: list[tuple[str, str, int]], seen: dict) -> list[str]:
    """A higher tier priced above a lower tier for the same SKU, within one file."""
    errors = []
    price_of = {(sku, tier): price for sku, tier, price in good}
    for sku, tier, price in good:
        for lower in tiers.LADDER[:tiers.rank(tier)]:
            other = price_of.get((sku, lower))
            if other is not None and price > other:
                errors.append(f"第 {seen[sku, tier]} 行：{tier_name(tier)}价 {_yuan_text(price)}"
                              f"高于{tier_name(lower)}价 {_yuan_text(other)}"
                              f"（第 {seen[sku, lower]} 行，{sku}）")
                break
    return errors


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


def remove_sku(uow: UnitOfWork, sku: str, by: str) -> int:
    """Use case: take a SKU off the price list (every tier's row); how many rows went."""
    sku = check_sku(sku)
    with uow.write() as session:
        rows = list(session.scalars(select(MemberPrice).where(MemberPrice.sku == sku)
                                    .order_by(MemberPrice.id)))
        for row in rows:
            audit.record(session, by, "benefits.member_price", f"{sku}/{row.tier}",
                         row.price_fen, None)
            session.delete(row)
        return len(rows)
