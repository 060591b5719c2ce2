"""付费会员 products as the console lists them: every product (withdrawn ones too), with
how many were sold and how many of those were refunded, in one aggregate query."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.models import MembershipProduct, MembershipPurchase

# A refund WeChat Pay accepted took the unused days off: that purchase no longer counts.
REFUNDED = ("processing", "succeeded")


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    tier: str
    tier_zh: str
    days: int
    price_fen: int
    active: bool
    sold: int      # purchases credited (each a member's paid period)
    refunded: int  # of which refunded through WeChat Pay


def rows(uow: UnitOfWork) -> list[ProductRow]:
    """Use case (read): products on sale first, then withdrawn ones; cheapest first."""
    p, b = MembershipProduct, MembershipPurchase
    sold = (select(b.product_id, func.count().label("sold"),
                   func.sum(case((b.refund_status.in_(REFUNDED), 1), else_=0)).label("refunded"))
            .group_by(b.product_id).subquery())
    stmt = (select(p, func.coalesce(sold.c.sold, 0), func.coalesce(sold.c.refunded, 0))
            .outerjoin(sold, sold.c.product_id == p.id)
            .order_by(p.active.desc(), p.price_fen, p.id))
    with uow.read() as session:
        return [ProductRow(x.id, x.name, x.tier, labels.tier_name(x.tier), x.days, x.price_fen,
                           x.active, int(n), int(r)) for x, n, r in session.execute(stmt)]
