"""Referrals: a member's personal QR code (scene `ref_<card>`) makes whoever joins through
it their referee; the referrer earns points once per referee."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wx_member.models import Member
from wx_member.services import points, settings

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
    """Attach `referee` to the owner of a referral scene and award the referrer. Self-referral,
    loops, an unknown card and a referee who already has a referrer award nothing."""
    if not scene.startswith(PREFIX) or referee.referrer_id is not None:
        return None
    from wx_member.services.members import by_card  # members imports this module

    referrer = by_card(session, scene[len(PREFIX):])
    if referrer is None or referrer.id == referee.id or _would_loop(session, referee, referrer):
        return None
    referee.referrer_id = referrer.id
    reward = settings.get(session, "referral_points")
    if reward:
        points.post(session, referrer, reward, "referral", f"referral:{referee.id}",
                    source=referee.card_no, now=now)
    return referrer
