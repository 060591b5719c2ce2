"""The gift catalogue: operators add, restock and retire gifts; members redeem them for points.

Redeeming a gift is a redemption like a cash-off (redemption.py: the member's row locked
first, a ledger debit and a `points_redemption` row under one idempotency key), its key
`gift:<member>:<request key>` (the client's key for one tap on 兑换). A gift's stock is
decremented by `UPDATE ... WHERE stock >= n` and the debit by `... WHERE points_balance >=
n`, so neither can go below zero under any concurrency; a refused redemption raises a
DomainError whose `user_message` says why, and its transaction is rolled back whole.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying
from wx_member.clock import utcnow
from wx_member.models import Gift, Member, PointsRedemption
from wx_member.loyalty.redemption import (Redemption, RedemptionConflict, _debit, _existing,
                                          _lock, _positive)
from wx_member.platform import audit
from wx_member.platform.errors import DomainError, InsufficientPoints, InvalidAmount


class UnknownGift(DomainError):
    code = "GIFT_NOT_FOUND"
    user_message = "礼品不存在或已下架。"


class OutOfStock(DomainError):
    code = "OUT_OF_STOCK"
    user_message = "礼品已兑完，请选择其他礼品。"


def add_gift(uow: UnitOfWork, name: str, points_cost: int, stock: int,
             by: str | None = None) -> Gift:
    """Use case: an operator adds a gift (audited when `by` says who)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidAmount(f"gift name must be 1-100 characters, got {name!r}",
                            user_message="礼品名称无效。")
    _positive(points_cost, "points")
    if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
        raise InvalidAmount(f"stock must be a non-negative integer, got {stock!r}")
    with uow.write() as session:
        gift = Gift(name=name, points=points_cost, stock=stock, active=True, created_at=utcnow())
        session.add(gift)
        if by:
            session.flush()
            audit.record(session, by, "gift.create", f"gift:{gift.id}", None,
                         {"name": name, "points": points_cost, "stock": stock})
    return gift


def restock(uow: UnitOfWork, gift_id: int, delta: int, by: str | None = None) -> Gift:
    """Use case: an operator adds stock (or removes it, never below zero); audited when
    `by` says who."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidAmount(f"stock change must be a non-zero integer, got {delta!r}")
    with uow.write() as session:
        moved = session.execute(update(Gift).where(Gift.id == gift_id, Gift.stock + delta >= 0)
                                .values(stock=Gift.stock + delta)
                                .execution_options(synchronize_session=False)).rowcount
        gift = session.get(Gift, gift_id, populate_existing=True)
        if gift is None:
            raise UnknownGift(f"no gift {gift_id}")
        if not moved:
            raise OutOfStock(f"gift {gift_id} has {gift.stock}, cannot remove {-delta}",
                             user_message="库存不足，无法减少。")
        if by:
            audit.record(session, by, "gift.restock", f"gift:{gift.id}",
                         {"stock": gift.stock - delta}, {"stock": gift.stock, "name": gift.name})
    return gift


def set_gift_active(uow: UnitOfWork, gift_id: int, active: bool, by: str) -> Gift:
    """Use case: retire a gift from the catalogue (or bring it back), audited. Redemptions
    already made stand."""
    with uow.write() as session:
        gift = session.get(Gift, gift_id, with_for_update=True)
        if gift is None:
            raise UnknownGift(f"no gift {gift_id}")
        if gift.active != active:
            gift.active = active
            audit.record(session, by, "gift.enable" if active else "gift.retire",
                         f"gift:{gift.id}", None, {"name": gift.name})
    return gift


def catalogue(session: Session, include_inactive: bool = False) -> list[Gift]:
    q = select(Gift).order_by(Gift.points, Gift.id)
    if not include_inactive:
        q = q.where(Gift.active.is_(True))
    return list(session.scalars(q))


def check_gift_request(request_key: str, quantity: int) -> str:
    """The request key a gift redemption may use (stripped); raises InvalidAmount."""
    request_key = (request_key or "").strip()
    if not request_key or len(request_key) > 100:
        raise InvalidAmount(f"request key must be 1-100 characters, got {request_key!r}",
                            user_message="兑换请求无效。")
    _positive(quantity, "quantity")
    return request_key


def redeem_gift(uow: UnitOfWork, member: Member, gift_id: int, request_key: str,
                quantity: int = 1, now: datetime | None = None) -> Redemption:
    """Use case: take `quantity` of a gift for points, once per `request_key`. Raises
    UnknownGift, OutOfStock, InsufficientPoints, RedemptionConflict or InvalidAmount,
    changing nothing."""
    request_key = check_gift_request(request_key, quantity)
    now = now or utcnow()

    def attempt() -> Redemption:
        with uow.write() as session:
            return redeem_gift_in(session, member, gift_id, request_key, quantity, now)
    return retrying(f"gift {gift_id} ({request_key})", attempt)


def redeem_gift_in(session: Session, member: Member, gift_id: int, request_key: str,
                   quantity: int, now: datetime) -> Redemption:
    """`redeem_gift` inside the caller's transaction, its arguments checked
    (check_gift_request)."""
    member = _lock(session, member.id)  # member first, then gift: one lock order
    member_id = member.id
    key = f"gift:{member_id}:{request_key}"
    done = _existing(session, key)
    if done is not None:
        if done.gift_id != gift_id or done.quantity != quantity:
            raise RedemptionConflict(f"request {key} redeemed gift {done.gift_id} "
                                     f"× {done.quantity} before")
        return Redemption(done, replayed=True)
    gift = session.get(Gift, gift_id, populate_existing=True)
    if gift is None or not gift.active:
        raise UnknownGift(f"no active gift {gift_id}")
    cost = gift.points * quantity
    if cost > member.points_balance:
        raise InsufficientPoints(
            f"member {member_id} has {member.points_balance}, gift costs {cost}",
            user_message=f"积分不足：兑换需要 {cost} 积分，当前 {member.points_balance} 积分。")
    taken = session.execute(update(Gift).where(Gift.id == gift_id, Gift.stock >= quantity)
                            .values(stock=Gift.stock - quantity)
                            .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        raise OutOfStock(f"gift {gift_id} has fewer than {quantity} left")
    _debit(session, member, cost, "redeem_gift", key, f"gift {gift_id} × {quantity}", now)
    row = PointsRedemption(member_id=member_id, kind="gift", idem_key=key, points=cost,
                           gift_id=gift_id, quantity=quantity, created_at=now)
    session.add(row)
    session.flush()
    return Redemption(row, replayed=False)
