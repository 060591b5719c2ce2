"""Read models: what the CLI and, later, the console show about a member."""
from __future__ import annotations

from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.models import Member
from wx_member.labels import tier_name
from wx_member.coupons import templates
from wx_member.coupons import wallet
from wx_member.payments import orders
from wx_member.loyalty import points
from wx_member.loyalty import points_expiry
from wx_member.payments import stored_value
from wx_member.loyalty import tiers


def member_profile(session: Session, member: Member, ledger_limit: int = 100) -> dict:
    referrer = session.get(Member, member.referrer_id) if member.referrer_id else None
    rows = points.history(session, member.id, ledger_limit)
    return {
        "openid": member.openid,
        "unionid": member.unionid,
        "card_no": member.card_no,
        "tier": member.tier,
        "tier_name": tier_name(member.tier),
        "tier_since": member.tier_since.isoformat() if member.tier_since else None,
        "total_spend_fen": member.total_spend_fen,
        "points": member.points_balance,
        "ledger_sum": points.ledger_sum(session, member.id),
        # What lapses next, by local day (first-expiring lots are spent first).
        "points_expiring": [{"points": e.points, "expires_on": e.expires_on.isoformat()}
                            for e in points_expiry.upcoming(session, member.id)],
        "referrer_card_no": referrer.card_no if referrer else None,
        "channel": member.scene,
        "subscribed": member.subscribed,
        "joined_at": member.joined_at.isoformat() + "Z",
        "ledger": [{"delta": r.delta, "reason": r.reason,
                    "reason_zh": labels.POINTS_REASONS.get(r.reason, r.reason),
                    "idem_key": r.idem_key, "source": r.source,
                    "created_at": r.created_at.isoformat() + "Z",
                    "expires_at": r.expires_at.isoformat() + "Z" if r.expires_at else None}
                   for r in rows],
        "orders": [{"out_trade_no": o.out_trade_no, "transaction_id": o.transaction_id,
                    "amount_fen": o.amount_fen, "refunded_fen": o.refunded_fen,
                    "status": o.status, "purpose": o.purpose,
                    "points_earned": o.points_earned,
                    "points_reversed": o.points_reversed, "api": o.api,
                    "earn_multiplier": o.earn_multiplier, "referral_points": o.referral_points,
                    "paid_at": o.paid_at.isoformat() + "Z",
                    "shipped_at": o.shipped_at.isoformat() + "Z" if o.shipped_at else None,
                    "delivered_at": o.delivered_at.isoformat() + "Z" if o.delivered_at else None,
                    "carrier": o.carrier, "tracking_no": o.tracking_no}
                   for o in orders.orders_of(session, member.id, ledger_limit)],
        "stored_value": stored_value.summary(session, member, ledger_limit),
        "coupons": [{"code": c.code, "template_id": t.id, "name": t.name,
                     "text": templates.describe(t), "status": c.status,
                     "issued_at": c.issued_at.isoformat() + "Z",
                     "valid_from": c.valid_from.isoformat() + "Z",
                     "valid_until": c.valid_until.isoformat() + "Z",
                     "order_no": c.order_no, "discount_fen": c.discount_fen}
                    for c, t in wallet.coupons_of(session, member.id, ledger_limit)],
        "tier_history": [{"from_tier": h.from_tier, "to_tier": h.to_tier, "reason": h.reason,
                          "cause": h.cause, "total_spend_fen": h.total_spend_fen,
                          "at": h.at.isoformat() + "Z"}
                         for h in tiers.history(session, member.id)],
    }
