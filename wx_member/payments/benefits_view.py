"""Read model: the benefits configuration as operators see it (the CLI and the console)."""
from __future__ import annotations

from sqlalchemy import select

from wx_member.db import UnitOfWork
from wx_member.loyalty import tiers
from wx_member.models import MemberDay, MemberPrice, TierDiscount
from wx_member.payments.benefits import describe_day


def overview(uow: UnitOfWork, include_disabled: bool = False) -> dict:
    """Use case (a read): tier discounts by tier, member days (one line each), price list."""
    with uow.read() as session:
        discounts = {row.tier: (row.percent, list(row.excluded_categories))
                     for row in session.scalars(select(TierDiscount))}
        days = select(MemberDay).order_by(MemberDay.id)
        if not include_disabled:
            days = days.where(MemberDay.enabled.is_(True))
        return {
            "tier_discounts": [(tier, *discounts.get(tier, (100, []))) for tier in tiers.LADDER],
            "member_days": [(row.id, describe_day(row)) for row in session.scalars(days)],
            "prices": [(row.sku, row.tier, row.price_fen) for row in session.scalars(
                select(MemberPrice).order_by(MemberPrice.sku, MemberPrice.id))],
        }


def member_days(uow: UnitOfWork) -> list[dict]:
    """Use case (a read): every member day, in force first, each with an operator's line."""
    with uow.read() as session:
        rows = session.scalars(select(MemberDay).order_by(MemberDay.enabled.desc(), MemberDay.id))
        return [{"id": row.id, "name": row.name, "text": describe_day(row),
                 "enabled": row.enabled} for row in rows]


def price_table(uow: UnitOfWork) -> list[tuple[str, dict[str, int]]]:
    """Use case (a read): the price list by SKU, each with its member price (fen) by tier."""
    with uow.read() as session:
        table: dict[str, dict[str, int]] = {}
        for sku, tier, price in session.execute(
                select(MemberPrice.sku, MemberPrice.tier, MemberPrice.price_fen)
                .order_by(MemberPrice.sku, MemberPrice.id)):
            table.setdefault(sku, {})[tier] = price
        return list(table.items())
