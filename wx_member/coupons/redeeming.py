"""Redeeming a coupon, and the other two ways it leaves `available`: void and expiry.

A coupon leaves `available` under a row lock, so two cashiers redeeming one coupon at once
cannot both win; the only way back is a full refund of the order it was used on
(returns.py). Each change is a `coupon_event` under its key (`redeem:<coupon>:<out_trade_no>`,
`void:<coupon>`, `expire:<coupon>`; the keys are listed in wallet.py, which issues). A
refusal raises a CouponRefused (refusals.py) with nothing written.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.models import Coupon, CouponEvent, CouponTemplate, Member
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.coupons import store_scope, templates
from wx_member.coupons.refusals import (
    BelowMinimumSpend, CouponExpired, CouponNotFound, CouponNotYetValid, CouponNotYours,
    CouponRefused, CouponUsed, CouponVoid, CouponWrongStore, TierTooLow)
from wx_member.coupons.wallet import _event, holder
from wx_member.platform import audit
from wx_member.platform.errors import InvalidAmount

EXPIRE_BATCH = 1000


@dataclass
class Redemption:
    coupon: Coupon
    discount_fen: int
    item: str | None  # an item coupon: what to hand over
    replayed: bool  # the same coupon and order again: nothing changed


def _refuse_by_status(coupon: Coupon) -> None:
    errors = {"used": CouponUsed, "expired": CouponExpired, "void": CouponVoid}
    raise errors[coupon.status](f"coupon {coupon.code} is {coupon.status}")


def redeem(uow: UnitOfWork, code: str, openid_or_card: str, out_trade_no: str,
           amount_fen: int, now: datetime | None = None,
           store_id: int | None = None) -> Redemption:
    """Use case: use a coupon on an order of `amount_fen`. Returns the discount (fen).

    Checks owner, status, validity window, minimum spend, tier and store (`store_id`: where
    it is used; None: no store known, so only a coupon valid in every store); a refusal raises a
    CouponRefused (Chinese `user_message`) with nothing written. The same coupon on the
    same order again returns the first answer (`replayed`); on another order it is used.
    """
    check_redeem(out_trade_no, amount_fen)
    now = now or utcnow()
    with uow.write() as session:
        return redeem_in(session, code, openid_or_card, out_trade_no, amount_fen, now,
                         store_id)


def check_redeem(out_trade_no: str, amount_fen: int) -> None:
    """Raises InvalidAmount unless a redemption's order number and amount are usable."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidAmount(f"amount must be a positive number of fen, got {amount_fen!r}",
                            user_message="订单金额必须是正整数（分）。")
    if not out_trade_no or len(out_trade_no) > 64:
        raise InvalidAmount("an order number of 1 to 64 characters is required",
                            user_message="请填写订单号。")


def check_usable(coupon: Coupon, template: CouponTemplate, member: Member, amount_fen: int,
                 now: datetime) -> None:
    """Raises the CouponRefused that using `coupon` (of `member`) on an amount of
    `amount_fen` at `now` meets: status, validity window, minimum spend, tier. The till's
    quote asks the same questions as a redemption (payments/pricing.py)."""
    if coupon.status != "available":
        _refuse_by_status(coupon)
    if now < coupon.valid_from:
        raise CouponNotYetValid(f"coupon {coupon.code} valid from {coupon.valid_from}")
    if now >= coupon.valid_until:
        raise CouponExpired(f"coupon {coupon.code} expired at {coupon.valid_until}")
    if amount_fen < template.min_spend_fen:
        raise BelowMinimumSpend(
            f"order {amount_fen} fen below {template.min_spend_fen}",
            user_message=f"满{template.min_spend_fen / 100:g}元可用，本单未达到使用门槛。")
    if not templates.tier_allows(template, member.tier):
        raise TierTooLow(f"member {member.id} is {member.tier}, needs {template.min_tier}",
                         user_message=f"该优惠券限{tier_name(template.min_tier)}及以上使用。")


def check_store(session: Session, template: CouponTemplate, store_id: int | None) -> None:
    """Raises CouponWrongStore unless the template's coupons can be used in `store_id`."""
    why = store_scope.refusal(session, template.id, store_id)
    if why is not None:
        raise CouponWrongStore(f"template {template.id} is not usable in store {store_id}",
                               user_message=why)


def redeem_in(session: Session, code: str, openid_or_card: str, out_trade_no: str,
              amount_fen: int, now: datetime, store_id: int | None = None) -> Redemption:
    """`redeem` inside the caller's transaction, its arguments checked (check_redeem)."""
    member = holder(session, openid_or_card)
    # The row lock queues a second redemption of this coupon behind the first, which
    # then sees it used: exactly one wins.
    coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper())
                            .with_for_update().execution_options(populate_existing=True))
    if coupon is None:
        raise CouponNotFound(f"no coupon {code!r}")
    if coupon.member_id != member.id:
        raise CouponNotYours(f"coupon {code} belongs to member {coupon.member_id}")
    template = session.get(CouponTemplate, coupon.template_id)
    if coupon.status == "used" and coupon.order_no == out_trade_no \
            and coupon.order_fen == amount_fen:
        return Redemption(coupon, coupon.discount_fen, template.item, replayed=True)
    check_usable(coupon, template, member, amount_fen, now)
    check_store(session, template, store_id)
    if session.scalar(select(CouponEvent.id).where(
            CouponEvent.idem_key == f"redeem:{coupon.id}:{out_trade_no}")) is not None:
        raise CouponRefused(f"coupon {code} came back from order {out_trade_no}",
                            user_message="该订单已退款或撤销，优惠券不能再用于此订单。")
    discount = templates.discount_fen(template, amount_fen)
    session.execute(update(Coupon).where(Coupon.id == coupon.id,
                                         Coupon.status == "available")
                    .values(status="used", used_at=now, order_no=out_trade_no,
                            order_fen=amount_fen, discount_fen=discount)
                    .execution_options(synchronize_session=False))
    _event(session, coupon, "used", "redeem", f"redeem:{coupon.id}:{out_trade_no}", now,
           from_status="available", order_no=out_trade_no, discount_fen=discount,
           store_id=store_id)
    session.refresh(coupon)
    return Redemption(coupon, discount, template.item, replayed=False)


# ---- void and expiry -------------------------------------------------------------------

def void(uow: UnitOfWork, code: str, note: str, by: str,
         now: datetime | None = None) -> Coupon:
    """Use case: an operator withdraws an available coupon (issued by mistake)."""
    if not note.strip():
        raise InvalidAmount("a reason is required", user_message="请填写作废原因。")
    now = now or utcnow()
    with uow.write() as session:
        coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper())
                                .with_for_update().execution_options(populate_existing=True))
        if coupon is None:
            raise CouponNotFound(f"no coupon {code!r}")
        if coupon.status != "available":
            _refuse_by_status(coupon)
        coupon.status = "void"
        _event(session, coupon, "void", "void", f"void:{coupon.id}", now,
               from_status="available", note=f"{by}: {note}"[:100])
        audit.record(session, by, "coupon.void", coupon.code, "available",
                     {"status": "void", "reason": note})
        return coupon


def expire_due(uow: UnitOfWork, now: datetime | None = None, batch: int = EXPIRE_BATCH) -> int:
    """Use case (daily job): every available coupon past its `valid_until` becomes expired,
    with an event each. Set-based, one transaction per batch of locked rows, so a
    redemption racing the job either wins before it or finds the coupon expired."""
    now = now or utcnow()
    total = 0
    while True:
        with uow.write() as session:
            rows = session.execute(
                select(Coupon.id, Coupon.member_id)
                .where(Coupon.status == "available", Coupon.valid_until <= now)
                .order_by(Coupon.id).limit(batch).with_for_update()).all()
            if not rows:
                return total
            ids = [r.id for r in rows]
            session.execute(update(Coupon).where(Coupon.id.in_(ids))
                            .values(status="expired").execution_options(synchronize_session=False))
            session.execute(insert(CouponEvent), [
                {"coupon_id": r.id, "member_id": r.member_id, "from_status": "available",
                 "to_status": "expired", "reason": "expire", "idem_key": f"expire:{r.id}",
                 "created_at": now} for r in rows])
            total += len(rows)
