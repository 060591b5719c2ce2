"""Data rights under PIPL: a member's data exported on request, and erased on request.

Export: everything we hold about one member as JSON-ready data (`privacy_export`: one
section per table that holds their personal data).

Erasure removes the person and keeps the accounts:
- refused while stored value is left (StoredValueLeft: the amount, and that the recharge
  is refunded first, through WeChat Pay): that money is theirs, not ours to forfeit; and
  while a refund of a recharge is on its way (RefundInFlight): the money has left the
  balance but not yet reached them, and WeChat Pay may still fail it;
- the member row stays (ids, card number, tier, spend, join date and channel are what
  totals and referral records hang on) but loses its openid (replaced by the tombstone
  `erased:<member id>`, not an openid shape, unique), mini-program openid, unionid, phone,
  name, birthday and last visit; it is unsubscribed and marked `erased_at`; its home
  store stays (like the channel it joined through: store totals hang on it);
- the points ledger stays: its rows name the member only by id; free-text operator notes
  (`adjust` sources, and those of stored-value corrections) are cleared, and the
  remaining balance is forfeited by one more ledger row (`erasure:<member id>`), so
  balance = ledger sum still holds and the points liability reconciles; opening balances of an import by phone (points and stored value, keyed
  `import:<phone>`) are re-keyed `import:erased:<row id>`;
- orders and refunds stay (bookkeeping law keeps transaction records), with the payer's
  openid (either appid's) replaced by the tombstone, also on orders paid before they joined;
  so do WeChat Pay JSAPI orders (recharges from the mini-program, payer openid tombstoned),
  recharge refunds (amounts by member id) and a till purchase's lines, payment parts and
  request (the till's idempotency record: its first answer holds the order's lines and the
  account's points, tier and stored value at the time, figures the kept ledgers and member
  row hold too, and no identifier of the person; a till retrying must still get it);
- deliveries keep their status (send statistics) with the tombstone and without payload;
  QR scans keep their channel with the tombstone; inbound event keys (which embed the
  openid), reachability marks, subscription grants and tags are deleted; operators' notes
  on their coupons are cleared;
- the WeChat user tags the tag sync put on their openid stay at WeChat until untagged
  there, which needs a call, and no call is made with a transaction open: each (WeChat tag
  id, openid) pair waits in `wechat_untag` (nothing else of the person) until the next tag
  sync or the scheduler's hourly run untags it and deletes the row (`wechat_tag_rows`);
- the audit log keeps every entry (who did what, when), with the member's openids,
  unionid and phone replaced by the tombstone wherever an entry names them (a console dry
  run lists the openids it sent to), and the names an operator gave them (`member.name`)
  replaced by it too (`privacy_audit`); merges keep their record without the snapshot an
  undo would need (so they can no longer be undone).
The card number is the account's number (derived from the never-reused member id, like
the id itself): it stays on the member row, in its card history and where the audit log
names the account. `ERASURE` says what happens to each table holding personal data,
`NOT_PERSONAL` why the other tables that reference a member hold none; a test fails when a
table referencing `member` is in neither, so a table added later has to join here.
Whoever follows the account with the same openid afterwards is a new member.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import (
    CouponEvent,
    Delivery,
    InboundEvent,
    JsapiOrder,
    Member,
    MemberMerge,
    MemberReach,
    MemberTag,
    Order,
    PointsLedger,
    PrivacyRequest,
    QrScan,
    RechargeRefund,
    StoredValueLedger,
    SubscribeGrant,
)
from wx_member.loyalty import points
from wx_member.members import privacy_audit, privacy_export, wechat_tag_rows
from wx_member.members.privacy_export import openids
from wx_member.platform import card_numbers
from wx_member.platform.errors import DomainError, UnknownMember

TOMBSTONE = "erased:"
# A recharge refund's states while its money is held (payments/recharge_refunds.OPEN; not
# imported: payments sits above members).
REFUND_OPEN = ("requested", "processing")


class AlreadyErased(DomainError):
    code = "ALREADY_ERASED"
    user_message = "该会员的个人信息已删除。"


class StoredValueLeft(DomainError):
    code = "STORED_VALUE_LEFT"

    def __init__(self, message: str, balance_fen: int):
        super().__init__(message, user_message=(
            f"该会员尚有储值余额 {balance_fen / 100:.2f} 元，不能直接删除个人信息。请先在微信支付"
            "商户平台为其储值充值订单办理退款，退款到账、余额为零后再删除。"))
        self.balance_fen = balance_fen


class RefundInFlight(DomainError):
    code = "RECHARGE_REFUND_IN_FLIGHT"
    user_message = "该会员有储值退款尚未到账，暂不能删除个人信息。"

    def __init__(self, message: str, amount_fen: int):
        super().__init__(message, user_message=(
            f"该会员有 {amount_fen / 100:.2f} 元储值退款尚未到账，暂不能删除个人信息。"
            "请待微信支付退款成功后再删除。"))
        self.amount_fen = amount_fen


# What erasure does to each table holding a member's personal data (module docstring).
ERASURE: dict[str, str] = {
    "member": "openids, unionid, phone, name, birthday, last visit removed; tombstone openid",
    "points_ledger": "kept by member id; operator notes cleared; balance forfeited; "
                     "import keys (which name the phone) re-keyed",
    "pay_order": "kept; payer openid replaced by the tombstone",
    "delivery": "kept for statistics; tombstone openid, payload removed",
    "qr_scan": "kept for channel statistics; tombstone openid",
    "inbound_event": "deleted (dedup keys embed the openid)",
    "member_reach": "deleted", "subscribe_grant": "deleted", "member_tag": "deleted",
    # What we told WeChat she carries: WeChat keeps those tags on her openid until they
    # are untagged there, which cannot happen inside this transaction (no WeChat call with
    # a transaction open): the pairs wait in wechat_untag for the next tag sync.
    "wechat_tag_member": "deleted; each (WeChat tag id, openid) pair moved to wechat_untag",
    # Not referencing a member (no member id): the openid and WeChat's tag id, no more.
    "wechat_untag": "erasure's own rows: (WeChat tag id, openid, time) until the next tag "
                    "sync untags the openid at WeChat and deletes them",
    "audit_log": "kept; the member's openids, unionid, phone and names given replaced by "
                 "the tombstone",
    "stored_value_ledger": "refused while a balance is left; rows kept by member id; "
                           "operator notes on corrections cleared; import keys (which name "
                           "the phone) re-keyed",
    "coupon_event": "kept; operator notes cleared",
    "member_merge": "kept; the snapshot (the identifiers an undo would restore) removed",
    "jsapi_order": "kept (bookkeeping); payer openid replaced by the tombstone",
    "recharge_refund": "refused while one is on its way; kept (bookkeeping) by member id, "
                       "no identifier",
    "store_payment": "kept (bookkeeping, with its order) by member id, no identifier",
    # Not referencing a member, but theirs through an order (module docstring):
    "order_line": "kept with the order (what was bought); no identifier",
    "payment_part": "kept with the order (how it was paid); no identifier",
    "till_request": "kept (the till's retry gets its first answer): order figures and the "
                    "account's points, tier and stored value then, no identifier",
}
# Tables that reference a member but hold nothing of the person, and why.
NOT_PERSONAL: dict[str, str] = {
    "refund": "amounts of an order, which is anonymised",
    "tier_history": "tier moves by member id", "tier_review": "reviews by member id",
    "coupon": "coupons by member id (codes are ours)",
    "points_redemption": "what points bought, by member id",
    "privacy_request": "the record of the request itself, by member id",
    "card_history": "account numbers (like the id) the member held before",
    "member_code_use": "a hash of a spent member code, gone a minute later",
    "paid_tier": "a paid tier and its end, by member id",
    "membership_purchase": "paid membership periods and amounts, by member id",
}


def tombstone(member_id: int) -> str:
    return f"{TOMBSTONE}{member_id}"


def _find(session: Session, who: str, lock: bool = False) -> Member:
    """By openid (either appid's) or card number, also a former one (what a member can tell
    an operator)."""
    q = select(Member).where(or_(Member.openid == who, Member.mini_openid == who,
                                 Member.card_no == who))
    if lock:  # queue behind an event or payment of theirs in flight
        q = q.with_for_update()
    member = session.scalar(q.execution_options(populate_existing=True))
    if member is None:  # a former card number (lost, or a merged duplicate's)
        member = card_numbers.member_of_former(session, who, refuse_lost=False, lock=lock)
    if member is None:
        raise UnknownMember(f"no member with openid or card number {who!r}")
    return member


# ---- export ------------------------------------------------------------------------------

def export_member(uow: UnitOfWork, who: str, by: str, note: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Use case: all we hold about the member `who` (openid or card number), recorded as an
    export request handled by `by`."""
    now = now or utcnow()
    with uow.write() as session:
        member = _find(session, who)
        data = privacy_export.collect(session, member, now)
        session.add(PrivacyRequest(member_id=member.id, kind="export", requested_by=by,
                                   note=note, at=now))
    return data


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
        if m.balance_fen > 0:
            raise StoredValueLeft(f"member {m.id} has {m.balance_fen} fen of stored value",
                                  m.balance_fen)
        in_flight = session.scalar(select(func.sum(RechargeRefund.amount_fen)).where(
            RechargeRefund.member_id == m.id, RechargeRefund.status.in_(REFUND_OPEN)))
        if in_flight:
            raise RefundInFlight(f"member {m.id} has {in_flight} fen of refunds in flight",
                                 int(in_flight))
        tomb, ids = tombstone(m.id), openids(m)
        personal = [v for v in (*ids, m.unionid, m.phone) if v]
        forfeited = m.points_balance
        if forfeited > 0:
            points.post(session, m, -forfeited, "erasure", f"erasure:{m.id}",
                        source="personal data erased on request")
        quiet = {"synchronize_session": False}
        session.execute(update(PointsLedger).where(PointsLedger.member_id == m.id,
                                                   PointsLedger.reason == "adjust")
                        .values(source=None).execution_options(**quiet))
        session.execute(update(StoredValueLedger).where(StoredValueLedger.member_id == m.id,
                                                        StoredValueLedger.reason == "correction")
                        .values(source=None).execution_options(**quiet))
        session.execute(update(CouponEvent).where(CouponEvent.member_id == m.id,
                                                  CouponEvent.note.is_not(None))
                        .values(note=None).execution_options(**quiet))
        orders = session.execute(update(Order).where(
            or_(Order.member_id == m.id, Order.openid.in_(ids))).values(openid=tomb)
            .execution_options(**quiet)).rowcount
        # WeChat Pay orders made in the mini-program name the payer too.
        session.execute(update(JsapiOrder).where(or_(JsapiOrder.member_id == m.id,
                                                     JsapiOrder.openid.in_(ids)))
                        .values(openid=tomb).execution_options(**quiet))
        deliveries = session.execute(update(Delivery).where(
            or_(Delivery.member_id == m.id, Delivery.openid.in_(ids)))
            .values(openid=tomb, payload={"erased": True})
            .execution_options(**quiet)).rowcount
        session.execute(update(QrScan).where(QrScan.openid.in_(ids)).values(openid=tomb)
                        .execution_options(**quiet))
        for stmt in (delete(InboundEvent).where(InboundEvent.openid.in_(ids)),
                     delete(MemberReach).where(MemberReach.member_id == m.id),
                     delete(SubscribeGrant).where(SubscribeGrant.member_id == m.id),
                     delete(MemberTag).where(MemberTag.member_id == m.id)):
            session.execute(stmt.execution_options(**quiet))
        wechat_tag_rows.release(session, m.id, m.openid)
        privacy_audit.scrub_audit(session, personal, tomb)
        privacy_audit.scrub_names(session, m, ids, tomb)
        for ledger in (PointsLedger, StoredValueLedger):  # `import:<phone>` names the phone
            session.execute(update(ledger).where(ledger.member_id == m.id,
                                                 ledger.reason == "import")
                            .values(idem_key="import:erased:" + cast(ledger.id, String))
                            .execution_options(**quiet))
        session.execute(update(MemberMerge).where(or_(MemberMerge.survivor_id == m.id,
                                                      MemberMerge.absorbed_id == m.id))
                        .values(snapshot={"erased": True}).execution_options(**quiet))
        m.openid, m.mini_openid, m.unionid, m.phone, m.name = tomb, None, None, None, None
        m.birthday, m.last_seen_at = None, None
        m.subscribed, m.unsubscribed_at, m.erased_at = False, m.unsubscribed_at or now, now
        session.add(PrivacyRequest(member_id=m.id, kind="erase", requested_by=by, note=note,
                                   at=now))
    return ErasureResult(m.id, forfeited, orders, deliveries)
