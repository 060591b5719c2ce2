"""Small read helpers for tests: what is in the database after the app acted."""
from __future__ import annotations

from sqlalchemy import func, select

from wx_member.models import InboundEvent, Member, PointsLedger
from wx_member.members import membership
from wx_member.loyalty import points


def member(live, openid: str) -> Member | None:
    with live.session() as s, s.read():
        return membership.by_openid(s, openid)


def ledger(live, openid: str) -> list[PointsLedger]:
    with live.session() as s, s.read():
        m = membership.require(s, openid)
        return list(s.scalars(select(PointsLedger).where(PointsLedger.member_id == m.id)
                              .order_by(PointsLedger.id)))


def balance_and_sum(live, openid: str) -> tuple[int, int]:
    with live.session() as s, s.read():
        m = membership.require(s, openid)
        return m.points_balance, points.ledger_sum(s, m.id)


def count(live, model) -> int:
    with live.session() as s, s.read():
        return int(s.scalar(select(func.count()).select_from(model)))


def counts(live) -> tuple[int, int, int]:
    return count(live, Member), count(live, PointsLedger), count(live, InboundEvent)
