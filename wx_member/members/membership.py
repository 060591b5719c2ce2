"""Members and their cards: joining by subscribe or scan, leaving, finding."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import luhn

from wx_member.db import insert_row, loaded
from wx_member.clock import utcnow
from wx_member.models import Member
from wx_member.members import channels
from wx_member.coupons import wallet
from wx_member.loyalty import points
from wx_member.members import referrals
from wx_member.platform import settings
from wx_member.platform.errors import UnknownMember

CARD_PREFIX = "8"


def card_number(member_id: int) -> str:
    """Derived from the never-reused member id, so never reused either; the Luhn check
    digit lets a cashier's typo be caught before it finds the wrong member."""
    body = f"{CARD_PREFIX}{member_id:08d}"
    return body + luhn.calc_check_digit(body)


def is_card_number(text: str) -> bool:
    return text.isdigit() and text.startswith(CARD_PREFIX) and len(text) >= 10 and luhn.is_valid(text)


@dataclass
class JoinResult:
    member: Member
    created: bool  # a new member
    restored: bool  # came back after unsubscribing
    signup_points: int  # awarded now (0 when already awarded before)
    referrer: Member | None  # credited now
    coupon: str | None = None  # the sign-up coupon issued now, in the member's words


# Built once: every event looks its member up, every join may number a card.
_BY_OPENID = select(Member).where(Member.openid == bindparam("openid"))
_M = Member.__table__
_NUMBER = update(_M).where(_M.c.id == bindparam("member")).values(card_no=bindparam("card"))


def by_openid(session: Session, openid: str) -> Member | None:
    return session.scalar(_BY_OPENID, {"openid": openid})


def paid_by(openid: str):
    """The member a WeChat Pay payer is: the openid is under the appid that took the
    payment, the Official Account's or the mini-program's (openids differ per appid, so one
    never matches another person's). A condition for the caller's locking SELECT."""
    return or_(Member.openid == openid, Member.mini_openid == openid)


def require(session: Session, openid: str) -> Member:
    member = by_openid(session, openid)
    if member is None:
        raise UnknownMember(f"no member with openid {openid}")
    return member


def by_card(session: Session, card_no: str) -> Member | None:
    return session.scalar(select(Member).where(Member.card_no == card_no))


def new_member(session: Session, now: datetime, **values) -> Member | None:
    """Insert a member and number its card, inside the caller's transaction; None when
    another event created the same person meanwhile (the unique openid or mini_openid).
    The webhook's join and the mini-program's login both create members here."""
    try:
        # Two first events of one person may race (MariaDB). No savepoint: the losing
        # INSERT undoes only itself, in SQLite and InnoDB alike.
        row = insert_row(session, Member, joined_at=now, points_balance=0, **values)
    except IntegrityError:
        return None
    row["card_no"] = card_number(row["id"])
    session.execute(_NUMBER, {"member": row["id"], "card": row["card_no"]})
    return loaded(session, Member, row)


def _create(session: Session, openid: str, unionid: str | None, scene: str | None,
            channel_id: int | None, now: datetime) -> Member | None:
    return new_member(session, now, openid=openid, unionid=unionid, scene=scene,
                      channel_id=channel_id, subscribed=True, last_seen_at=now)


def join(session: Session, openid: str, *, unionid: str | None = None,
         scene: str | None = None, now: datetime | None = None) -> JoinResult:
    """Someone subscribed or scanned a QR code: find or create their member and card,
    award sign-up points once, and credit a referrer once. Runs in the caller's transaction."""
    now = now or utcnow()
    channel_id = channels.id_by_scene(session, scene) if scene else None
    member = by_openid(session, openid)
    created = restored = False
    if member is None:
        member = _create(session, openid, unionid, scene, channel_id, now)
        created = member is not None
        member = member or require(session, openid)
    if not created:
        restored = not member.subscribed
        member.subscribed, member.unsubscribed_at = True, None
        member.unionid = member.unionid or unionid
    if scene:
        channels.record_scan(session, channel_id, scene, openid, joined=created, now=now)
    signup = settings.get(session, "signup_points")
    awarded = signup if signup and points.post(
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
