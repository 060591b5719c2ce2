"""Referrals: a member's personal QR code (scene `ref_<card>`) makes whoever joins through
it their referee, and the referrer is rewarded in one of two ways (setting `referral_mode`):

- `fixed` (default): `referral_points` once per referee, when the referee joins
  (ledger key `referral:<referee id>`).
- `percent`: `referral_percent` % of the points each of the referee's first
  `referral_orders` orders earned (tier rate and earn rules included), rounded down,
  credited in the payment's transaction (key `referral-order:<out_trade_no>`). "First"
  counts the referee's recorded orders, refunded or not: a refund does not free a place.
  A refund of such an order takes back the same share as the referee's own points
  (`floor(reward × refunded ÷ amount)` in all, key `referral-refund:<out_refund_no>`),
  never below zero; what the referrer had already spent is recorded as a shortfall.

Percent of points rather than of the amount: the reward then follows the programme's own
earn rules (tier rates, double days) and can never exceed what the shop already gives.
The mode at the time of each event applies: switching does not pay or take back earlier
rewards.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member.models import Member, Order, Refund
from wx_member.loyalty import points
from wx_member.members.membership import by_card
from wx_member.platform import settings
from wx_member.platform.ledger import lock_member

log = logging.getLogger(__name__)
PREFIX = "ref_"
MAX_CHAIN = 100  # deeper referral chains than this are not real


def scene_for(member: Member) -> str:
    return PREFIX + member.card_no


def _would_loop(session: Session, referee: Member, referrer: Member) -> bool:
    node, seen = referrer, 0
    while node is not None and seen < MAX_CHAIN:
        if node.id == referee.id:
            return True
        node, seen = (session.get(Member, node.referrer_id) if node.referrer_id else None), seen + 1
    return seen >= MAX_CHAIN


def credit_referrer(session: Session, referee: Member, scene: str,
                    now: datetime | None = None) -> Member | None:
    """Attach `referee` to the owner of a referral scene and, in `fixed` mode, award the
    referrer. Self-referral, loops, an unknown card and a referee who already has a
    referrer attach and award nothing."""
    if not scene.startswith(PREFIX) or referee.referrer_id is not None:
        return None
    referrer = by_card(session, scene[len(PREFIX):], refuse_lost=False)
    if referrer is None or referrer.id == referee.id or _would_loop(session, referee, referrer):
        return None
    referee.referrer_id = referrer.id
    reward = settings.get(session, "referral_points")
    if reward and settings.get(session, "referral_mode") == "fixed":
        points.post(session, referrer, reward, "referral", f"referral:{referee.id}",
                    source=referee.card_no, now=now)
    return referrer


def _lock(session: Session, member_id: int) -> Member | None:
    # The referee's row is already locked: referee then referrer, down a tree with no
    # loops, so two payments cannot lock the same pair in opposite orders.
    return lock_member(session, Member.id == member_id)


def reward_order(session: Session, referee: Member, order: Order) -> int:
    """In `percent` mode, credit the referrer their share of what `order` (just recorded,
    points already earned) earned, if it is one of the referee's first orders. Runs inside
    the payment's transaction. Returns the points credited."""
    if (referee.referrer_id is None or order.points_earned <= 0
            or settings.get(session, "referral_mode") != "percent"):
        return 0
    earlier = session.scalar(select(func.count()).select_from(Order).where(
        Order.member_id == referee.id, Order.id < order.id, Order.purpose == "purchase"))
    if earlier >= settings.get(session, "referral_orders"):
        return 0
    reward = order.points_earned * settings.get(session, "referral_percent") // 100
    referrer = _lock(session, referee.referrer_id) if reward else None
    if referrer is None:
        return 0
    if points.post(session, referrer, reward, "referral", f"referral-order:{order.out_trade_no}",
                   source=f"{referee.card_no} {order.out_trade_no}"[:100]) is None:
        return 0
    order.referral_points = reward
    return reward


def reverse_for_refund(session: Session, referee: Member, order: Order, refund: Refund) -> int:
    """Take back the referrer's share of a refunded order (after `order.refunded_fen` was
    updated), never below zero. Returns the points taken."""
    if order.referral_points <= 0 or referee.referrer_id is None:
        return 0
    # as order_refunds.refunded_share (payments is above this area): all of it once fully
    # refunded
    if order.status == "refunded":
        due = order.referral_points - order.referral_reversed
    elif order.amount_fen:
        due = order.referral_points * order.refunded_fen // order.amount_fen \
            - order.referral_reversed
    else:
        due = 0
    if due <= 0:
        return 0
    order.referral_reversed += due
    referrer = _lock(session, referee.referrer_id)
    if referrer is None:
        return 0
    taken = min(due, referrer.points_balance)
    short = f"; shortfall {due - taken}" if due > taken else ""
    if taken:
        points.post(session, referrer, -taken, "refund", f"referral-refund:{refund.out_refund_no}",
                    source=f"referee {order.out_trade_no}{short}"[:100])
    if short:
        log.warning("refund %s: referrer %s had spent %d of the %d referral points to take "
                    "back", refund.out_refund_no, referrer.id, due - taken, due)
    return taken
