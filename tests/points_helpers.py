"""Helpers for points tests: members and lots at a frozen local time, settings, the run."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from push_helpers import SHANGHAI, at  # noqa: F401  (re-exported for the tests)
from wx_member.models import Member, PointsLedger
from wx_member.members import joining
from wx_member.loyalty import points
from wx_member.loyalty import expiry_run, points_expiry
from wx_member.platform import settings


def configure(session, **values: int) -> None:
    for key, value in values.items():
        settings.change(session, key, value, by="test")


def join(session, openid: str, when: datetime) -> Member:
    with session.begin():
        return joining.join(session, openid, now=when).member


def earn(session, member: Member, n: int, key: str, when: datetime) -> PointsLedger:
    """A credit at `when` through the ledger's one entry point, as every earn path does."""
    with session.begin():
        points.post(session, member, n, "adjust", key, now=when)
    return lot(session, key)


def spend(session, member: Member, n: int, key: str, when: datetime) -> None:
    with session.begin():
        points.post(session, member, -n, "adjust", key, now=when)


def lot(session, key: str) -> PointsLedger:
    """A ledger row, detached."""
    with session.read():
        row = session.scalar(select(PointsLedger).where(PointsLedger.idem_key == key))
    session.expunge(row)
    return row


def expire(session, on: str | date, **kw):
    """The daily run as it happens on local day `on` (lots whose last day is before it)."""
    day = date.fromisoformat(on) if isinstance(on, str) else on
    return expiry_run.run(session, date.fromordinal(day.toordinal() - 1), tz=SHANGHAI,
                             now=at(f"{day.isoformat()} 00:05"), **kw)


def balance_and_sum(session, member_id: int) -> tuple[int, int]:
    session.expire_all()
    with session.read():
        session.get(Member, member_id)  # loaded again, as the test's object reads it next
        balance = session.scalar(select(Member.points_balance).where(Member.id == member_id))
        total = points.ledger_sum(session, member_id)
    return balance, total


def expiry_rows(session, member_id: int) -> list[tuple[int, str]]:
    with session.read():
        rows = session.execute(select(PointsLedger.delta, PointsLedger.idem_key)
                               .where(PointsLedger.member_id == member_id,
                                      PointsLedger.reason == "expire")
                               .order_by(PointsLedger.id)).all()
    return [tuple(r) for r in rows]


def local_end(day: str) -> datetime:
    return points_expiry.day_end_utc(date.fromisoformat(day), SHANGHAI)
