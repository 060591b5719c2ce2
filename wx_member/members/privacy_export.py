"""What a data-rights export holds: every row of every table that holds a member's personal
data, one section per kind, as JSON-ready data.

`SECTIONS` maps each such table to the export section that carries it; `privacy.NOT_PERSONAL`
names the tables that reference a member but hold nothing of the person (with why). A test
fails when a table referencing `member` is in neither, so a table added later has to be
exported here or declared there.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.members import cards, referrals
from wx_member.models import (
    Channel,
    Coupon,
    CouponEvent,
    CouponTemplate,
    Delivery,
    JsapiOrder,
    Member,
    MemberMerge,
    MemberReach,
    MemberTag,
    Order,
    OrderLine,
    PaymentPart,
    PointsLedger,
    PointsRedemption,
    PrivacyRequest,
    QrScan,
    RechargeRefund,
    Refund,
    Store,
    StorePayment,
    StoredValueLedger,
    SubscribeGrant,
    TierHistory,
    TierReview,
    WechatTagMember,
)

# table -> the export section holding its rows
SECTIONS: dict[str, str] = {
    "member": "profile", "points_ledger": "ledger", "pay_order": "orders", "refund": "orders",
    "delivery": "deliveries", "tier_history": "tier_history", "tier_review": "tier_reviews",
    "qr_scan": "scans", "coupon": "coupons", "coupon_event": "coupons",
    "stored_value_ledger": "stored_value", "member_tag": "tags", "wechat_tag_member": "wechat_tags",
    "points_redemption": "redemptions", "subscribe_grant": "subscribe_grants",
    "member_reach": "unreachable", "privacy_request": "requests", "channel": "referral_code",
    "card_history": "cards", "member_merge": "merges",
    # WeChat Pay JSAPI recharges from the mini-program, and recharges the shop refunded.
    "jsapi_order": "wechat_pay_orders", "recharge_refund": "recharge_refunds",
    # 到店买单: what the member typed at a store and what their benefits made of it.
    "store_payment": "store_payments",
    # Not tables referencing a member, but theirs through an order: a till purchase's
    # lines and how it was paid (in each order), and the home store (in the profile).
    "order_line": "orders", "payment_part": "orders", "store": "profile",
}


def _t(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def openids(member: Member) -> list[str]:
    """The member's openids (Official Account, mini-program) as rows name them."""
    return [o for o in (member.openid, member.mini_openid) if o]


def orders_of(session: Session, member: Member) -> list[Order]:
    """Their orders, also those paid before they joined (by openid, under either appid)."""
    return list(session.scalars(select(Order).where(
        or_(Order.member_id == member.id, Order.openid.in_(openids(member)))).order_by(Order.id)))


def collect(session: Session, member: Member, now: datetime) -> dict[str, Any]:
    referrer = session.get(Member, member.referrer_id) if member.referrer_id else None
    orders = orders_of(session, member)
    refunds: dict[int, list[Refund]] = {}
    if orders:
        for r in session.scalars(select(Refund).where(Refund.order_id.in_([o.id for o in orders]))
                                 .order_by(Refund.id)):
            refunds.setdefault(r.order_id, []).append(r)
    lines, parts = _by_order(session, OrderLine, orders), _by_order(session, PaymentPart, orders)
    stores = {s.id: s for s in session.scalars(select(Store))}
    home = stores.get(member.home_store_id)

    def mine(model, order=None):
        return session.scalars(select(model).where(model.member_id == member.id)
                               .order_by(order if order is not None else model.id))

    events: dict[int, list[CouponEvent]] = {}
    for e in mine(CouponEvent):
        events.setdefault(e.coupon_id, []).append(e)
    names = dict(session.execute(select(CouponTemplate.id, CouponTemplate.name)).all())
    return {
        "exported_at": _t(now),
        "profile": {
            "openid": member.openid, "mini_openid": member.mini_openid,
            "unionid": member.unionid, "card_no": member.card_no,
            "phone": member.phone, "name": member.name, "birthday": member.birthday.date().isoformat()
            if member.birthday else None, "tier": member.tier,
            "points_balance": member.points_balance, "total_spend_fen": member.total_spend_fen,
            "stored_value_fen": member.balance_fen,
            "subscribed": member.subscribed, "joined_at": _t(member.joined_at),
            "unsubscribed_at": _t(member.unsubscribed_at), "last_seen_at": _t(member.last_seen_at),
            "joined_through_scene": member.scene,
            "referrer_card_no": referrer.card_no if referrer else None,
            "erased_at": _t(member.erased_at),
            "home_store": {"code": home.code, "name": home.name} if home else None,
        },
        "cards": cards.history_rows(session, member.id),
        "tags": [t.tag for t in mine(MemberTag, MemberTag.tag)],
        "wechat_tags": [t.tag for t in mine(WechatTagMember, WechatTagMember.tag)],
        "ledger": [{"delta": r.delta, "reason": r.reason,
                    "reason_zh": labels.POINTS_REASONS.get(r.reason, r.reason), "key": r.idem_key,
                    "source": r.source, "expires_at": _t(r.expires_at),
                    "created_at": _t(r.created_at)}
                   for r in mine(PointsLedger)],
        "stored_value": [{"delta_fen": r.delta_fen, "reason": r.reason,
                          "reason_zh": labels.BALANCE_REASONS.get(r.reason, r.reason),
                          "key": r.idem_key, "order_no": r.order_no, "source": r.source,
                          "created_at": _t(r.created_at)}
                         for r in mine(StoredValueLedger)],
        "orders": [{"out_trade_no": o.out_trade_no, "transaction_id": o.transaction_id,
                    "purpose": o.purpose, "amount_fen": o.amount_fen,
                    "refunded_fen": o.refunded_fen,
                    "status": o.status, "points_earned": o.points_earned,
                    "points_reversed": o.points_reversed, "paid_at": _t(o.paid_at),
                    "shipped_at": _t(o.shipped_at), "delivered_at": _t(o.delivered_at),
                    "carrier": o.carrier, "tracking_no": o.tracking_no,
                    "store": stores[o.store_id].code if o.store_id in stores else None,
                    "lines": [{"sku": x.sku, "name": x.name, "category": x.category,
                               "quantity": x.quantity, "unit_price_fen": x.unit_price_fen,
                               "amount_fen": x.amount_fen, "benefit": x.benefit,
                               "refunded_quantity": x.refunded_quantity}
                              for x in lines.get(o.id, [])],
                    "payments": [{"method": x.method, "amount_fen": x.amount_fen,
                                  "out_trade_no": x.out_trade_no,
                                  "transaction_id": x.transaction_id}
                                 for x in parts.get(o.id, [])],
                    "refunds": [{"out_refund_no": r.out_refund_no, "amount_fen": r.amount_fen,
                                 "points_reversed": r.points_reversed,
                                 "refunded_at": _t(r.refunded_at)}
                                for r in refunds.get(o.id, [])]}
                   for o in orders],
        "wechat_pay_orders": [{"out_trade_no": j.out_trade_no, "purpose": j.purpose,
                               "openid": j.openid, "amount_fen": j.amount_fen,
                               "bonus_fen": j.bonus_fen, "description": j.description,
                               "status": j.status, "error": j.error,
                               "created_at": _t(j.created_at), "paid_at": _t(j.paid_at),
                               "closed_at": _t(j.closed_at)}
                              for j in session.scalars(select(JsapiOrder).where(
                                  or_(JsapiOrder.member_id == member.id,
                                      JsapiOrder.openid.in_(openids(member))))
                                  .order_by(JsapiOrder.id))],
        "store_payments": [{"out_trade_no": p.out_trade_no,
                            "store": stores[p.store_id].code if p.store_id in stores else None,
                            "amount_fen": p.amount_fen,
                            "undiscounted_fen": p.undiscounted_fen,
                            "member_fen": p.member_fen,
                            "benefit": p.benefit, "coupon_code": p.coupon_code,
                            "coupon_saving_fen": p.coupon_saving_fen,
                            "points_used": p.points_used, "points_fen": p.points_fen,
                            "payable_fen": p.payable_fen, "pay_with": p.pay_with,
                            "status": p.status, "points_earned": p.points_earned,
                            "created_at": _t(p.created_at), "paid_at": _t(p.paid_at)}
                           for p in mine(StorePayment)],
        "recharge_refunds": [{"out_refund_no": r.out_refund_no, "out_trade_no": r.out_trade_no,
                              "amount_fen": r.amount_fen, "bonus_fen": r.bonus_fen,
                              "status": r.status, "error": r.error, "by": r.requested_by,
                              "created_at": _t(r.created_at),
                              "completed_at": _t(r.completed_at)}
                             for r in mine(RechargeRefund)],
        "coupons": [{"code": c.code, "name": names.get(c.template_id), "cause": c.cause,
                     "status": c.status, "status_zh": labels.COUPON_STATUS.get(c.status),
                     "issued_at": _t(c.issued_at), "valid_from": _t(c.valid_from),
                     "valid_until": _t(c.valid_until), "used_at": _t(c.used_at),
                     "order_no": c.order_no, "discount_fen": c.discount_fen,
                     "events": [{"from": e.from_status, "to": e.to_status, "reason": e.reason,
                                 "order_no": e.order_no, "note": e.note,
                                 "at": _t(e.created_at)} for e in events.get(c.id, [])]}
                    for c in mine(Coupon)],
        "redemptions": [{"kind": r.kind, "points": r.points, "gift_id": r.gift_id,
                         "quantity": r.quantity, "order_no": r.order_no,
                         "order_amount_fen": r.order_amount_fen, "fen_off": r.fen_off,
                         "created_at": _t(r.created_at), "cancelled_at": _t(r.cancelled_at),
                         "cancel_reason": r.cancel_reason}
                        for r in mine(PointsRedemption)],
        "deliveries": [{"kind": d.kind, "occasion": d.occasion, "channel": d.channel,
                        "status": d.status, "content": d.payload, "created_at": _t(d.created_at),
                        "sent_at": _t(d.sent_at), "finished_at": _t(d.finished_at)}
                       for d in session.scalars(select(Delivery).where(
                           or_(Delivery.member_id == member.id,
                               Delivery.openid.in_(openids(member))))
                           .order_by(Delivery.id))],
        "subscribe_grants": [{"template_id": g.template_id, "remaining": g.remaining,
                              "updated_at": _t(g.updated_at)}
                             for g in mine(SubscribeGrant, SubscribeGrant.template_id)],
        "unreachable": [{"channel": r.channel, "reason": r.reason, "at": _t(r.at)}
                        for r in mine(MemberReach, MemberReach.channel)],
        "tier_history": [{"from": h.from_tier, "to": h.to_tier, "reason": h.reason,
                          "cause": h.cause, "at": _t(h.at)} for h in mine(TierHistory)],
        "tier_reviews": [{"date": r.review_date.isoformat(), "from": r.from_tier,
                          "to": r.to_tier, "qualifying_fen": r.qualifying_fen}
                         for r in mine(TierReview)],
        "scans": [{"scene": s.scene, "joined": s.joined, "at": _t(s.created_at)}
                  for s in session.scalars(select(QrScan).where(
                      QrScan.openid.in_(openids(member))).order_by(QrScan.id))],
        "referral_code": [{"scene": c.scene, "created_at": _t(c.created_at),
                           "expires_at": _t(c.expires_at)}
                          for c in session.scalars(select(Channel).where(
                              Channel.kind == "referral",
                              Channel.scene.in_(_referral_scenes(session, member))))],
        "requests": [{"kind": r.kind, "by": r.requested_by, "at": _t(r.at)}
                     for r in mine(PrivacyRequest)],
        "merges": [{"survivor": r.survivor_id == member.id, "reason": r.reason, "by": r.by,
                    "card_no": (r.snapshot or {}).get("card_no"), "at": _t(r.at),
                    "undone_at": _t(r.undone_at)}
                   for r in session.scalars(select(MemberMerge).where(
                       or_(MemberMerge.survivor_id == member.id,
                           MemberMerge.absorbed_id == member.id)).order_by(MemberMerge.id))],
    }


def _by_order(session: Session, model, orders: list[Order]) -> dict[int, list]:
    """Rows of `model` (a till purchase's lines or payment parts) by order id."""
    rows: dict[int, list] = {}
    if orders:
        for r in session.scalars(select(model).where(model.order_id.in_([o.id for o in orders]))
                                 .order_by(model.id)):
            rows.setdefault(r.order_id, []).append(r)
    return rows


def _referral_scenes(session: Session, member: Member) -> list[str]:
    numbers = [member.card_no] + [r["card_no"] for r in cards.history_rows(session, member.id)]
    return [referrals.PREFIX + n for n in numbers if n]
