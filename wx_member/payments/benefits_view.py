"""Read model: the benefits configuration as operators see it (the CLI, later the console)."""
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
