"""Data rights under PIPL: a member's data exported on request, and erased on request.

Export: everything we hold about one member as JSON-ready data: profile, points ledger,
orders with their refunds, pushes (deliveries), tier changes and QR scans.

Erasure removes the person and keeps the accounts:
- the member row stays (ids, card number, tier, spend, join date and channel are what
  totals and referral records hang on) but loses its openid (replaced by the tombstone
  `erased:<member id>`, not an openid shape, unique), unionid, phone, birthday and last
  visit; it is unsubscribed and marked `erased_at`;
- the points ledger stays: its rows name the member only by id; free-text operator notes
  (`adjust` sources) are cleared, and the remaining balance is forfeited by one more ledger
  row (`erasure:<member id>`), so balance = ledger sum still holds and the points liability
  reconciles;
- orders and refunds stay (bookkeeping law keeps transaction records), with the payer's
  openid replaced by the tombstone, also on orders paid before they joined;
- deliveries keep their status (send statistics) with the tombstone and without payload;
  QR scans keep their channel with the tombstone; inbound event keys (which embed the
  openid), reachability marks and subscription grants are deleted.
Tables added later that hold personal data must join both functions here (README).
Whoever follows the account with the same openid afterwards is a new member.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import (
    Delivery,
    InboundEvent,
    JsapiOrder,
    Member,
    MemberReach,
    Order,
    PointsLedger,
    PrivacyRequest,
    QrScan,
    Refund,
    SubscribeGrant,
    TierHistory,
)
from wx_member.loyalty import points
from wx_member.platform.errors import DomainError, UnknownMember

TOMBSTONE = "erased:"


class AlreadyErased(DomainError):
    code = "ALREADY_ERASED"
    user_message = "该会员的个人信息已删除。"


def tombstone(member_id: int) -> str:
    return f"{TOMBSTONE}{member_id}"


def _t(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def _find(session: Session, who: str, lock: bool = False) -> Member:
    """By openid or card number (what a member can tell an operator)."""
    q = select(Member).where(or_(Member.openid == who, Member.card_no == who))
    if lock:  # queue behind an event or payment of theirs in flight
        q = q.with_for_update()
    member = session.scalar(q.execution_options(populate_existing=True))
    if member is None:
        raise UnknownMember(f"no member with openid or card number {who!r}")
    return member


def _orders(session: Session, member: Member) -> list[Order]:
    return list(session.scalars(select(Order).where(
        or_(Order.member_id == member.id, Order.openid == member.openid)).order_by(Order.id)))


# ---- export ------------------------------------------------------------------------------

def export_member(uow: UnitOfWork, who: str, by: str, note: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Use case: all we hold about the member `who` (openid or card number), recorded as an
    export request handled by `by`."""
    now = now or utcnow()
    with uow.write() as session:
        member = _find(session, who)
        data = _collect(session, member, now)
        session.add(PrivacyRequest(member_id=member.id, kind="export", requested_by=by,
                                   note=note, at=now))
    return data


def _collect(session: Session, member: Member, now: datetime) -> dict[str, Any]:
    referrer = session.get(Member, member.referrer_id) if member.referrer_id else None
    orders = _orders(session, member)
    refunds: dict[int, list[Refund]] = {}
    if orders:
        for r in session.scalars(select(Refund).where(Refund.order_id.in_([o.id for o in orders]))
                                 .order_by(Refund.id)):
            refunds.setdefault(r.order_id, []).append(r)
    by_member = lambda model: select(model).where(model.member_id == member.id)  # noqa: E731
    return {
        "exported_at": _t(now),
        "profile": {
            "openid": member.openid, "unionid": member.unionid, "card_no": member.card_no,
            "phone": member.phone, "birthday": member.birthday.date().isoformat()
            if member.birthday else None, "tier": member.tier,
            "points_balance": member.points_balance, "total_spend_fen": member.total_spend_fen,
            "subscribed": member.subscribed, "joined_at": _t(member.joined_at),
            "unsubscribed_at": _t(member.unsubscribed_at), "last_seen_at": _t(member.last_seen_at),
            "joined_through_scene": member.scene,
            "referrer_card_no": referrer.card_no if referrer else None,
            "erased_at": _t(member.erased_at),
        },
        "ledger": [{"delta": r.delta, "reason": r.reason,
                    "reason_zh": labels.POINTS_REASONS.get(r.reason, r.reason), "key": r.idem_key,
                    "source": r.source, "expires_at": _t(r.expires_at),
                    "created_at": _t(r.created_at)}
                   for r in session.scalars(by_member(PointsLedger).order_by(PointsLedger.id))],
        "orders": [{"out_trade_no": o.out_trade_no, "transaction_id": o.transaction_id,
                    "amount_fen": o.amount_fen, "refunded_fen": o.refunded_fen,
                    "status": o.status, "points_earned": o.points_earned,
                    "points_reversed": o.points_reversed, "paid_at": _t(o.paid_at),
                    "refunds": [{"out_refund_no": r.out_refund_no, "amount_fen": r.amount_fen,
                                 "points_reversed": r.points_reversed,
                                 "refunded_at": _t(r.refunded_at)}
                                for r in refunds.get(o.id, [])]}
                   for o in orders],
        "deliveries": [{"kind": d.kind, "occasion": d.occasion, "channel": d.channel,
                        "status": d.status, "content": d.payload, "created_at": _t(d.created_at),
                        "sent_at": _t(d.sent_at), "finished_at": _t(d.finished_at)}
                       for d in session.scalars(select(Delivery).where(
                           or_(Delivery.member_id == member.id, Delivery.openid == member.openid))
                           .order_by(Delivery.id))],
        "tier_history": [{"from": h.from_tier, "to": h.to_tier, "reason": h.reason,
                          "cause": h.cause, "at": _t(h.at)}
                         for h in session.scalars(by_member(TierHistory).order_by(TierHistory.id))],
        "scans": [{"scene": s.scene, "joined": s.joined, "at": _t(s.created_at)}
                  for s in session.scalars(select(QrScan).where(QrScan.openid == member.openid)
                                           .order_by(QrScan.id))],
    }


# ---- erasure -----------------------------------------------------------------------------

@dataclass
class ErasureResult:
    member_id: int
    forfeited_points: int
    orders_kept: int
    deliveries_kept: int


def erase_member(uow: UnitOfWork, who: str, by: str, note: str | None = None,
                 now: datetime | None = None) -> ErasureResult:
    """Use case: remove the personal data of the member `who` (openid or card number) and
    keep the accounts (module docstring)."""
    now = now or utcnow()
    with uow.write() as session:
        m = _find(session, who, lock=True)
        if m.erased_at is not None:
            raise AlreadyErased(f"member {m.id} was erased at {m.erased_at}")
        openid, tomb = m.openid, tombstone(m.id)
        forfeited = m.points_balance
        if forfeited > 0:
            points.post(session, m, -forfeited, "erasure", f"erasure:{m.id}",
                        source="personal data erased on request")
        session.execute(update(PointsLedger).where(PointsLedger.member_id == m.id,
                                                   PointsLedger.reason == "adjust")
                        .values(source=None).execution_options(synchronize_session=False))
        orders = session.execute(update(Order).where(
            or_(Order.member_id == m.id, Order.openid == openid)).values(openid=tomb)
            .execution_options(synchronize_session=False)).rowcount
        # WeChat Pay orders made in the mini-program name the payer too.
        session.execute(update(JsapiOrder).where(JsapiOrder.member_id == m.id)
                        .values(openid=tomb).execution_options(synchronize_session=False))
        deliveries = session.execute(update(Delivery).where(
            or_(Delivery.member_id == m.id, Delivery.openid == openid))
            .values(openid=tomb, payload={"erased": True})
            .execution_options(synchronize_session=False)).rowcount
        session.execute(update(QrScan).where(QrScan.openid == openid).values(openid=tomb)
                        .execution_options(synchronize_session=False))
        for stmt in (delete(InboundEvent).where(InboundEvent.openid == openid),
                     delete(MemberReach).where(MemberReach.member_id == m.id),
                     delete(SubscribeGrant).where(SubscribeGrant.member_id == m.id)):
            session.execute(stmt.execution_options(synchronize_session=False))
        m.openid, m.unionid, m.phone, m.birthday, m.last_seen_at = tomb, None, None, None, None
        m.subscribed, m.unsubscribed_at, m.erased_at = False, m.unsubscribed_at or now, now
        session.add(PrivacyRequest(member_id=m.id, kind="erase", requested_by=by, note=note,
                                   at=now))
    return ErasureResult(m.id, forfeited, orders, deliveries)
