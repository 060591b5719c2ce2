"""Joining and leaving: someone subscribed to the Official Account or scanned a channel QR
code (find or create their member and card, sign-up points, the referrer's credit, the
sign-up coupon), or unsubscribed. Above membership.py and referrals.py, which it uses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.models import Member, MemberReach
from wx_member.members import channels
from wx_member.coupons import wallet
from wx_member.loyalty import points
from wx_member.members import referrals
from wx_member.members.membership import by_openid, new_member, require
from wx_member.platform import events, settings


UNFOLLOWED = "43004"  # how pushes/deliveries.py words a 43004 mark (its reason's start)


@dataclass
class JoinResult:
    member: Member
    created: bool  # a new member
    restored: bool  # came back after unsubscribing
    signup_points: int  # awarded now (0 when already awarded before)
    referrer: Member | None  # credited now
    coupon: str | None = None  # the sign-up coupon issued now, in the member's words


def _create(session: Session, openid: str, unionid: str | None, scene: str | None,
            channel_id: int | None, now: datetime, points: int) -> Member | None:
    member = new_member(session, now, points, openid=openid, unionid=unionid, scene=scene,
                        channel_id=channel_id, subscribed=True, last_seen_at=now, window_at=now)
    if member is not None:
        # Its INSERT carries the activity and the 48-hour window the event opens.
        events.already_seen(session, openid)
    return member


def join(session: Session, openid: str, *, unionid: str | None = None,
         scene: str | None = None, now: datetime | None = None,
         likely_new: bool = False) -> JoinResult:
    """Someone subscribed or scanned a QR code: find or create their member and card,
    award sign-up points once, and credit a referrer once. Runs in the caller's transaction.

    `likely_new` (a subscribe event: mostly people we have never seen): try the INSERT
    first and look the member up only when their openid is taken, one round trip fewer for
    a newcomer; the failed INSERT of a returning follower undoes only itself."""
    now = now or utcnow()
    channel_id = channels.id_by_scene(session, scene) if scene else None
    signup = settings.get(session, "signup_points")
    member = None if likely_new else by_openid(session, openid)
    created = restored = False
    if member is None:
        # A new member's sign-up points are its opening balance, in its INSERT: the
        # ledger row follows (points.opening), with no UPDATE of the balance.
        member = _create(session, openid, unionid, scene, channel_id, now, max(signup, 0))
        created = member is not None
        member = member or require(session, openid)
    if not created:
        restored = not member.subscribed
        member.subscribed, member.unsubscribed_at = True, None
        member.unionid = member.unionid or unionid
        # Following again undoes WeChat's 43004 (not following): reachable again.
        session.execute(delete(MemberReach).where(
            MemberReach.member_id == member.id, MemberReach.reason.startswith(UNFOLLOWED)))
    if scene:
        channels.record_scan(session, channel_id, scene, openid, joined=created, now=now)
    if created and signup > 0:
        award = points.opening
    else:
        award = points.post
    awarded = signup if signup and award(
        session, member, signup, "signup", f"signup:{member.id}", source=scene,
        now=now) else 0
    # Only a new member can be referred: an existing one was not brought in by anyone.
    referrer = (referrals.credit_referrer(session, member, scene, now)
                if created and scene else None)
    # New members only: every scan of an existing member comes through here too.
    coupon = wallet.issue_signup(session, member, now) if created else None
    return JoinResult(member, created, restored, awarded, referrer,
                      coupon[1] if coupon else None)


def unsubscribe(session: Session, openid: str, now: datetime | None = None) -> Member | None:
    """Keep the member, card and points: a re-subscribe restores them."""
    member = by_openid(session, openid)
    if member is not None and member.subscribed:
        member.subscribed, member.unsubscribed_at = False, now or utcnow()
    return member
