"""付费会员 (paid membership): products that sell a tier for N days through WeChat Pay
(payments/wxpay_orders.py makes the JSAPI order, `attach` "membership:<product id>"), and
crediting a paid one exactly once (unique `membership_purchase.out_trade_no`, the member's
row locked first, as recharges do).

A purchase made while a paid tier still runs extends it from its current end, not from
today; the tier itself is loyalty/tiers.py's: the higher of spend and paid tier. The daily
`expire` walk returns members whose paid tier ended to the tier their spend gives, once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, retrying, savepoint
from wx_member.errors import DomainError
from wx_member.loyalty import tiers
from wx_member.members import membership
from wx_member.models import JsapiOrder, Member, MembershipProduct, MembershipPurchase, PaidTier
from wx_member.payments.order_errors import OrderMismatch
from wx_member.platform import audit
from wx_member.platform.errors import InvalidAmount, UnknownMember
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay import PaymentNotice

log = logging.getLogger(__name__)

MEMBERSHIP = "membership"  # the order's purpose; `attach` is "membership:<product id>"
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class UnknownMembershipProduct(DomainError):
    code = "UNKNOWN_MEMBERSHIP_PRODUCT"
    user_message = "该会员卡不存在或已下架，请刷新后重试。"


@dataclass(frozen=True)
class ProductView:
    id: int
    name: str
    tier: str
    tier_zh: str
    days: int
    price_fen: int
    active: bool


@dataclass(frozen=True)
class PaidResult:
    out_trade_no: str
    credited: bool  # False: a replay of a purchase already credited
    tier: str
    ends_at: datetime


def attach_of(product_id: int) -> str:
    return f"{MEMBERSHIP}:{product_id}"


def is_membership(attach: str) -> bool:
    return attach.startswith(MEMBERSHIP + ":")


def _view(p: MembershipProduct) -> ProductView:
    return ProductView(p.id, p.name, p.tier, labels.TIER_NAMES.get(p.tier, p.tier), p.days,
                       p.price_fen, p.active)


# ---- products (operators) --------------------------------------------------------------

def products(uow: UnitOfWork, *, active_only: bool = True) -> list[ProductView]:
    """Use case: the products on sale (or all of them, for operators)."""
    with uow.read() as session:
        stmt = select(MembershipProduct).order_by(MembershipProduct.price_fen,
                                                  MembershipProduct.id)
        if active_only:
            stmt = stmt.where(MembershipProduct.active.is_(True))
        return [_view(p) for p in session.scalars(stmt)]


def add_product(uow: UnitOfWork, *, name: str, tier: str, days: int,
                price_fen: int, by: str = "cli") -> ProductView:
    """Use case: an operator puts a product on sale (audited)."""
    if tier not in tiers.LADDER[1:]:
        raise InvalidAmount(f"tier {tier!r} is not sold", user_message="等级须为 " + "、".join(
            labels.tier_name(t) for t in tiers.LADDER[1:]) + " 之一。")
    if not (isinstance(days, int) and 1 <= days <= 3660):
        raise InvalidAmount(f"days {days!r} out of range", user_message="天数须在 1 至 3660 之间。")
    if not (isinstance(price_fen, int) and 1 <= price_fen <= 10_000_000):
        raise InvalidAmount(f"price {price_fen!r} out of range",
                            user_message="价格须在 0.01 元至 100000 元之间。")
    name = (name or "").strip()
    if not 1 <= len(name) <= 40:
        raise InvalidAmount("product name empty or too long", user_message="名称须为 1 至 40 个字。")
    with uow.write() as session:
        product = MembershipProduct(name=name, tier=tier, days=days, price_fen=price_fen,
                                    active=True, created_at=utcnow())
        session.add(product)
        session.flush()
        audit.record(session, by, "membership_product.add", str(product.id), None,
                     {"name": name, "tier": tier, "days": days, "price_fen": price_fen})
        return _view(product)


def disable_product(uow: UnitOfWork, product_id: int, by: str = "cli") -> ProductView:
    """Use case: withdraw a product (purchases already made keep their period)."""
    return set_product_active(uow, product_id, False, by)


def set_product_active(uow: UnitOfWork, product_id: int, active: bool, by: str) -> ProductView:
    """Use case: withdraw a product from sale or put it back (audited when it changes).
    Purchases already made keep their period either way."""
    with uow.write() as session:
        product = session.get(MembershipProduct, product_id)
        if product is None:
            raise UnknownMembershipProduct(f"no membership product {product_id}")
        if product.active != active:
            audit.record(session, by, "membership_product.active", str(product.id),
                         {"name": product.name, "active": product.active},
                         {"name": product.name, "active": active})
            product.active = active
        return _view(product)


def product_for_sale(session: Session, product_id: int) -> MembershipProduct:
    product = session.get(MembershipProduct, product_id)
    if product is None or not product.active:
        raise UnknownMembershipProduct(f"no active membership product {product_id}")
    return product


# ---- the member's side -------------------------------------------------------------------

def status_of(uow: UnitOfWork, member_id: int, now: datetime | None = None) -> dict:
    """Use case: products on sale, the member's tier and their paid tier and its end."""
    now = now or utcnow()
    with uow.read() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise UnknownMember(f"no member {member_id}")
        row = session.get(PaidTier, member_id)
        paid = None
        if row is not None and row.ends_at > now:
            paid = {"tier": row.tier, "tier_zh": labels.TIER_NAMES.get(row.tier, row.tier),
                    "ends_at": row.ends_at}
        on_sale = session.scalars(select(MembershipProduct).where(
            MembershipProduct.active.is_(True)).order_by(MembershipProduct.price_fen))
        return {"tier": member.tier, "tier_zh": labels.TIER_NAMES.get(member.tier, member.tier),
                "paid": paid, "products": [_view(p) for p in on_sale]}


# ---- paid (the notify, or the reconciliation job) ----------------------------------------

def record_paid(uow: UnitOfWork, notice: PaymentNotice, *, tz: ZoneInfo = DEFAULT_TZ,
                now: datetime | None = None) -> PaidResult | None:
    """Use case: a verified payment of a membership order: the paid tier held (or extended
    from its current end), the tier raised if it is higher, once per out_trade_no."""
    if not notice.success:
        log.info("membership %s not successful; nothing recorded", notice.out_trade_no)
        return None
    now = now or utcnow()
    return retrying(f"membership {notice.out_trade_no}",
                    lambda: _record_paid(uow, notice, tz, now))


def _replayed(existing: MembershipPurchase | None, notice: PaymentNotice) -> PaidResult:
    if existing is None or existing.amount_fen != notice.amount_fen:
        raise OrderMismatch(f"membership {notice.out_trade_no} disagrees with the purchase")
    log.info("membership %s already credited; replay ignored", notice.out_trade_no)
    return PaidResult(existing.out_trade_no, False, existing.tier, existing.ends_at)


def _record_paid(uow: UnitOfWork, notice: PaymentNotice, tz: ZoneInfo,
                 now: datetime) -> PaidResult:
    no = notice.out_trade_no
    with uow.write() as session:
        member = lock_member(session, membership.paid_by(notice.openid))
        existing = session.scalar(select(MembershipPurchase).where(
            MembershipPurchase.out_trade_no == no))
        if existing is not None:
            return _replayed(existing, notice)
        ordered = session.scalar(select(JsapiOrder).where(JsapiOrder.out_trade_no == no)
                                 .with_for_update())
        if member is None or ordered is None or (ordered.amount_fen, ordered.member_id) != (
                notice.amount_fen, member.id) or not is_membership(ordered.attach):
            raise OrderMismatch(f"membership {no} paid {notice.amount_fen} fen by "
                                f"{notice.openid}: not an order of ours for that member")
        product = session.get(MembershipProduct, int(ordered.attach.split(":", 1)[1]))
        at = notice.paid_at or now
        row = session.get(PaidTier, member.id)
        if row is not None and row.ends_at > at:  # a renewal: from the current end
            start, tier = row.ends_at, tiers.higher(row.tier, product.tier)
        else:
            start, tier = at, product.tier
        end = start + timedelta(days=product.days)
        purchase = MembershipPurchase(out_trade_no=no, member_id=member.id,
                                      product_id=product.id, tier=product.tier,
                                      amount_fen=notice.amount_fen, starts_at=start,
                                      ends_at=end, paid_at=at, refund_fen=0,
                                      refund_days=0)
        try:
            with savepoint(session):
                session.add(purchase)
                session.flush()
        except IntegrityError:
            return _replayed(session.scalar(select(MembershipPurchase).where(
                MembershipPurchase.out_trade_no == no)), notice)
        if row is None:
            session.add(PaidTier(member_id=member.id, tier=tier, ends_at=end, updated_at=now))
        else:
            row.tier, row.ends_at, row.expired_at, row.updated_at = tier, end, None, now
        ordered.status, ordered.paid_at = "paid", at
        session.flush()
        tiers.after_paid_purchase(session, member, tier, f"membership:{no}", at, tz, now)
        log.info("membership %s: member %s holds %s until %s", no, member.id, tier, end)
        return PaidResult(no, True, tier, end)


# ---- expiry (the scheduler, daily) --------------------------------------------------------

def expire(uow: UnitOfWork, *, tz: ZoneInfo = DEFAULT_TZ, now: datetime | None = None,
           limit: int = 500) -> int:
    """Use case: members whose paid tier ended return to the tier their spend gives (a
    `tier_history` row `paid_expired`), once each (`expired_at`). Returns how many moved."""
    now = now or utcnow()
    moved = 0
    with uow.write() as session:
        due = list(session.scalars(select(PaidTier.member_id).where(
            PaidTier.ends_at <= now, PaidTier.expired_at.is_(None))
            .order_by(PaidTier.member_id).limit(limit)))
        for member_id in due:
            member = lock_member(session, Member.id == member_id)
            row = session.get(PaidTier, member_id)
            if row.expired_at is not None or row.ends_at > now:
                continue  # renewed, or done by another worker meanwhile
            row.expired_at = now
            if tiers.after_paid_expiry(session, member, row.tier,
                                       f"paid_expired:{row.ends_at:%Y%m%d}", tz, now):
                moved += 1
    if due:
        log.info("paid tiers ended: %d members, %d lowered", len(due), moved)
    return moved
