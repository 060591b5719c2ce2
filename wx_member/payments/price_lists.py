"""Member price lists (SKU -> price by tier; operators change them, every change audited):
the SKU format, importing a list from CSV (all or nothing, a Chinese error per bad row),
taking a price or a SKU off the list. The other benefits (tier discounts, member days) are
payments/benefits.py's; what a basket then costs a member is payments/pricing.py's.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.loyalty import tiers
from wx_member.models import MemberPrice
from wx_member.payments.benefits import InvalidBenefit, check_tier
from wx_member.platform import audit

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")
MAX_PRICE_FEN = 100_000_000  # a million yuan per unit: more is a typo


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
            tier = check_tier(by_name.get(cell["tier"].strip(), cell["tier"].strip()))
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
    sku, tier = check_sku(sku), check_tier(tier)
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
