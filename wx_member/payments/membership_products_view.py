"""付费会员 as the console shows it: every product (withdrawn ones too) with how many were
sold and refunded, in one aggregate query; and one member's purchases, each refundable or
not, for the member's page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from wx_member import labels
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import MembershipProduct, MembershipPurchase
from wx_member.payments import membership_refunds
from wx_member.payments.paid_memberships import ProductView

# A refund WeChat Pay accepted took the unused days off: that purchase no longer counts.
REFUNDED = ("processing", "succeeded")


@dataclass(frozen=True)
class ProductRow(ProductView):
    """A product as the mini-program sees it, with its sales."""
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


@dataclass(frozen=True)
class PurchaseRow:
    out_trade_no: str
    product: str
    tier_zh: str
    amount_fen: int
    starts_at: datetime
    ends_at: datetime
    refund_status: str | None  # None: not refunded (failed: WeChat Pay refused, it stands)
    refund_fen: int
    refundable: bool  # no refund under way or done, and whole days left to refund


def purchases_of(uow: UnitOfWork, member_id: int, now: datetime | None = None) -> list[PurchaseRow]:
    """Use case (read): a member's paid memberships, newest first, for the member's page:
    an admin refunds one from its row instead of typing its order number."""
    now = now or utcnow()
    b, p = MembershipPurchase, MembershipProduct
    stmt = (select(b, p.name).join(p, p.id == b.product_id).where(b.member_id == member_id)
            .order_by(b.paid_at.desc(), b.id.desc()))
    with uow.read() as session:
        return [PurchaseRow(x.out_trade_no, name, labels.tier_name(x.tier), x.amount_fen,
                            x.starts_at, x.ends_at, x.refund_status, x.refund_fen or 0,
                            x.refund_status in (None, "failed")
                            and membership_refunds.unused_days(x, now)[0] > 0)
                for x, name in session.execute(stmt)]
