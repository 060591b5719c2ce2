"""Helpers for coupon and stored-value tests: members made through the join use case, a
frozen clock, and reads of what the services wrote."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from wx_member.db import make_session_factory
from wx_member.models import Coupon, CouponEvent, Member
from wx_member.members import joining

T0 = datetime(2026, 12, 1, 2, 0)  # 10:00 in Shanghai


def later(**kw) -> datetime:
    return T0 + timedelta(**kw)


def join(session, openid: str, tier: str = "normal", now: datetime = T0) -> Member:
    with session.begin():
        m = joining.join(session, openid, now=now).member
        session.execute(update(Member).where(Member.id == m.id).values(tier=tier))
    return _done(session, session.scalar(select(Member).where(Member.openid == openid)
                                         .execution_options(populate_existing=True)))


def _done(session, value):
    """End the read's transaction (objects stay loaded): the next use case begins its own."""
    session.commit()
    return value


def factory(session):
    """More sessions on the test's database, for concurrent use cases."""
    return make_session_factory(session.get_bind())


def coupons_of(session, member_id: int, reason: str | None = None) -> list[Coupon]:
    q = (select(Coupon).where(Coupon.member_id == member_id).order_by(Coupon.id)
         .execution_options(populate_existing=True))
    if reason:
        q = q.where(Coupon.cause.like(f"{reason}:%"))
    return _done(session, list(session.scalars(q)))


def events(session, coupon_id: int | None = None) -> list[tuple[str | None, str, str]]:
    q = select(CouponEvent).order_by(CouponEvent.id)
    if coupon_id is not None:
        q = q.where(CouponEvent.coupon_id == coupon_id)
    return _done(session, [(e.from_status, e.to_status, e.reason) for e in session.scalars(q)])


def n_events(session) -> int:
    return _done(session, int(session.scalar(select(func.count()).select_from(CouponEvent))))
