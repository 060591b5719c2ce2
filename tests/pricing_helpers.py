"""Helpers for the till's pricing and purchase tests: members at a tier with points and
stored value, baskets, and what a member would notice afterwards."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, inspect, select, update

from coupon_helpers import T0, join  # noqa: F401  (T0: Tuesday 2026-12-01 10:00 Shanghai)
from push_helpers import SHANGHAI
from wx_member.loyalty import points
from wx_member.models import Coupon, Member, Order, OrderLine, PaymentPart, TillRequest
from wx_member.payments import stored_value, till_orders, till_refunds

THURSDAY = T0 + timedelta(days=2)  # no member day


def ensure_stores(session) -> None:
    """Stores 1 and 2 (the tests' `store` ids), made as operators make them."""
    from wx_member.members import stores
    from wx_member.models import Store

    with session.read():
        have = session.scalar(select(func.count()).select_from(Store))
    for code in ("SH001", "BJ001")[have:]:
        stores.create(session, code, f"{code} 店", by="test")


def member(session, openid: str, tier: str = "normal", points_: int = 0,
           balance_fen: int = 0) -> Member:
    ensure_stores(session)
    m = join(session, openid, tier)
    with session.write():
        m = session.get(Member, m.id)
        if points_:
            points.post(session, m, points_, "adjust", f"seed:{openid}")
        if balance_fen:
            stored_value.post(session, m, balance_fen, "recharge", f"seed:{openid}")
    with session.read():
        return session.scalar(select(Member).where(Member.id == m.id)
                              .execution_options(populate_existing=True))


def line(sku="LATTE-M", name="中杯拿铁", category="拿铁", quantity=1, unit_price_fen=3000):
    return {"sku": sku, "name": name, "category": category, "quantity": quantity,
            "unit_price_fen": unit_price_fen}


def ident(m) -> int | None:
    """A member's id without loading it (a refused use case's rollback expires objects)."""
    return inspect(m).identity[0] if m is not None else None


def quote(session, body, m=None, store=1, now=THURSDAY):
    ensure_stores(session)
    return till_orders.quote(session, body, member_id=ident(m), store_id=store,
                             tz=SHANGHAI, now=now)


def order(session, body, m=None, store=1, now=THURSDAY, consent=True):
    ensure_stores(session)
    return till_orders.record(session, body, member_id=ident(m), store_id=store,
                              consent=consent, tz=SHANGHAI, now=now)


def refund(session, number, body, store=1, now=THURSDAY):
    return till_refunds.refund(session, number, body, store_id=store, tz=SHANGHAI, now=now)


def signup_coupon(session, m) -> str:
    with session.read():
        return session.scalar(select(Coupon.code).where(Coupon.member_id == ident(m),
                                                        Coupon.template_id == 1))


def state(session, m) -> dict:
    """What the member (and the books) would show: balances equal to their ledger sums."""
    session.expire_all()
    with session.read():
        row = session.get(Member, ident(m))
        assert row.points_balance == points.ledger_sum(session, row.id)
        assert row.balance_fen == stored_value.ledger_sum(session, row.id)
        return {"points": row.points_balance, "balance": row.balance_fen, "tier": row.tier,
                "spend": row.total_spend_fen}


def counts(session) -> tuple[int, ...]:
    with session.read():
        return tuple(int(session.scalar(select(func.count()).select_from(t)))
                     for t in (Order, OrderLine, PaymentPart, TillRequest))


def coupon_status(session, code: str) -> str:
    with session.read():
        return session.scalar(select(Coupon.status).where(Coupon.code == code)
                              .execution_options(populate_existing=True))


def set_tier(session, m, tier: str) -> None:
    with session.write():
        session.execute(update(Member).where(Member.id == m.id).values(tier=tier))


def at(day_offset: int = 2, hour: int = 10) -> datetime:
    return T0 + timedelta(days=day_offset, hours=hour - 10)
