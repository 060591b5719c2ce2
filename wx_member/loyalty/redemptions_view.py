"""The mini-program's 积分兑换: the gift catalogue, a member redeeming a gift by their
member id (the API knows the member only by the id in their token), and the member's own
redemptions. The rules (stock and balance never below zero, once per request key) are
`gift_catalogue.py`'s; this module only finds the member and shapes what they read.

Also the console's reading of a member's cash-offs (积分抵现 on the member page), cancelled
or not; the cancel itself is `redemption.cancel_cash_off`'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, retrying
from wx_member.models import Gift, GiftImage, Member, PointsRedemption, Store, utcnow
from wx_member.platform import paging
from wx_member.loyalty import gift_catalogue
from wx_member.platform.errors import DomainError, UnknownMember


class RedemptionNotFound(DomainError):
    code = "REDEMPTION_NOT_FOUND"
    user_message = "兑换记录不存在。"


@dataclass(frozen=True)
class CatalogueGift:
    id: int
    name: str
    points: int
    stock: int
    image_digest: str | None = None  # names its picture's URL (gift_images.py); None: none


@dataclass(frozen=True)
class RedemptionView:
    id: int
    kind: str  # gift | cash_off
    points: int
    gift_id: int | None
    gift_name: str | None
    quantity: int | None
    order_no: str | None
    fen_off: int | None
    created_at: datetime


@dataclass(frozen=True)
class CashOffView:
    order_no: str
    order_amount_fen: int
    fen_off: int
    points: int
    created_at: datetime
    cancelled_at: datetime | None  # None: the points are still spent on the order
    cancel_reason: str | None
    store_name: str | None = None  # whose till took them (None: not a till)


CASH_OFFS_SHOWN = 20  # the member page shows the newest ones


@dataclass(frozen=True)
class Redeemed:
    redemption: RedemptionView
    points_balance: int  # after the redemption (or now, for a replay)
    replayed: bool  # the request key was redeemed before: nothing changed now


def gifts(uow: UnitOfWork) -> list[CatalogueGift]:
    """Active gifts, cheapest first, with their stock (0: shown as 已兑完) and picture."""
    with uow.read() as session:
        rows = session.execute(
            select(Gift.id, Gift.name, Gift.points, Gift.stock, GiftImage.digest)
            .outerjoin(GiftImage, GiftImage.gift_id == Gift.id)
            .where(Gift.active.is_(True)).order_by(Gift.points, Gift.id)).all()
        return [CatalogueGift(*row) for row in rows]


def _view(row: PointsRedemption, gift_name: str | None) -> RedemptionView:
    return RedemptionView(row.id, row.kind, row.points, row.gift_id, gift_name, row.quantity,
                          row.order_no, row.fen_off, row.created_at)


def redeem(uow: UnitOfWork, member_id: int, gift_id: int, request_key: str, quantity: int = 1,
           now: datetime | None = None) -> Redeemed:
    """Use case: the member taps 兑换. Once per (member, request key): the key is the
    client's id for that tap, so a retry after a lost answer returns the first result.
    Raises UnknownGift, OutOfStock, InsufficientPoints, RedemptionConflict (the key was
    used for another gift or quantity) or InvalidAmount, changing nothing. One transaction."""
    request_key = gift_catalogue.check_gift_request(request_key, quantity)
    now = now or utcnow()

    def attempt() -> Redeemed:
        with uow.write() as session:
            member = session.get(Member, member_id)
            if member is None:
                raise UnknownMember(f"no member {member_id}")
            done = gift_catalogue.redeem_gift_in(session, member, gift_id, request_key,
                                                 quantity, now)
            # As stored (MariaDB keeps whole seconds): a replay answers the same.
            row, name = session.execute(
                _with_gift_names(member_id).where(PointsRedemption.id == done.redemption.id)
                .execution_options(populate_existing=True)).one()
            return Redeemed(_view(row, name), member.points_balance, done.replayed)
    return retrying(f"gift {gift_id} ({request_key})", attempt)


def _with_gift_names(member_id: int):
    return (select(PointsRedemption, Gift.name)
            .outerjoin(Gift, PointsRedemption.gift_id == Gift.id)
            .where(PointsRedemption.member_id == member_id))


def page(uow: UnitOfWork, member_id: int, before: int | None,
         limit: int) -> tuple[list[RedemptionView], int | None]:
    """The member's redemptions (gifts and cash off orders), newest first."""
    q = paging.newest_first(_with_gift_names(member_id), PointsRedemption.id, before, limit)
    with uow.read() as session:
        rows, next_before = paging.cut(session.execute(q).all(), limit, lambda row: row[0].id)
    return [_view(r, name) for r, name in rows], next_before


def one(uow: UnitOfWork, member_id: int, redemption_id: int) -> RedemptionView:
    """One of the member's redemptions; another member's id is answered as not found."""
    row = None
    if 0 < redemption_id <= paging.MAX_ID:
        with uow.read() as session:
            row = session.execute(_with_gift_names(member_id)
                                  .where(PointsRedemption.id == redemption_id)).first()
    if row is None:
        raise RedemptionNotFound(f"member {member_id} has no redemption {redemption_id}")
    return _view(row[0], row[1])


def _cash_off_view(row: PointsRedemption, store_name: str | None) -> CashOffView:
    return CashOffView(row.order_no or "", row.order_amount_fen or 0, row.fen_off or 0,
                       row.points, row.created_at, row.cancelled_at, row.cancel_reason,
                       store_name)


_CASH_OFFS = (select(PointsRedemption, Store.name)
              .outerjoin(Store, Store.id == PointsRedemption.store_id)
              .where(PointsRedemption.kind == "cash_off"))


def cash_offs_of(session: Session, member_id: int,
                 limit: int = CASH_OFFS_SHOWN) -> list[CashOffView]:
    """In the caller's transaction: the member's newest cash-offs, newest first."""
    rows = session.execute(_CASH_OFFS.where(PointsRedemption.member_id == member_id)
                           .order_by(PointsRedemption.id.desc()).limit(limit))
    return [_cash_off_view(r, store) for r, store in rows]
