"""A member's own referral QR code (an Official Account code with scene `ref_<card_no>`,
see members/referrals.py) and what it brought them.

The code is a temporary QR code (30 days, WeChat's longest; permanent codes are limited to
100,000 per account, too few to spend on members), stored as a `referral` channel and
renewed through WeChat when it has less than a day left. No transaction is open while
WeChat is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, savepoint
from wx_member.clock import utcnow
from wx_member.models import Channel, Member, PointsLedger
from wx_member.members import channels
from wx_member.members import referrals
from wx_member.platform.errors import UnknownMember
from wx_member.wechat.gateway import MAX_TEMP_QR_SECONDS, WeChatGateway

RENEW_BEFORE = timedelta(days=1)
RECENT = 50


@dataclass(frozen=True)
class ReferralCode:
    scene: str
    qr_url: str  # what the QR image encodes
    image_url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Referee:
    card_hint: str  # the referee's card number, masked: their number is theirs
    joined_at: datetime


@dataclass(frozen=True)
class Results:
    referees: int
    points_earned: int
    recent: list[Referee]


def _member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or not member.card_no:
        raise UnknownMember(f"no member {member_id}")
    return member


def _view(gateway: WeChatGateway, ch: Channel) -> ReferralCode:
    return ReferralCode(ch.scene, ch.qr_url or "", gateway.qrcode_image_url(ch.ticket or ""),
                        ch.expires_at)


def code_for(uow: UnitOfWork, gateway: WeChatGateway, member_id: int,
             now: datetime | None = None) -> ReferralCode:
    """Use case: the member's referral QR code, made or renewed through WeChat when needed:
    a read, then (only then) the call to WeChat with no transaction open, then a write."""
    now = now or utcnow()
    with uow.read() as session:
        scene = referrals.scene_for(_member(session, member_id))
        ch = channels.by_scene(session, scene)
    if ch is not None and (ch.permanent or (ch.expires_at and ch.expires_at - RENEW_BEFORE > now)):
        return _view(gateway, ch)
    # A failure is the gateway's WeChatUnavailable, answered by the surface (503 on /api).
    qr = gateway.create_qrcode(scene, expire_seconds=MAX_TEMP_QR_SECONDS)
    # Whole seconds: MariaDB's DATETIME keeps no fraction, and the answer must not change
    # between the first request and the next.
    expires_at = now.replace(microsecond=0) + timedelta(seconds=qr.expire_seconds or MAX_TEMP_QR_SECONDS)
    values = dict(ticket=qr.ticket, qr_url=qr.url, expires_at=expires_at)
    with uow.write() as session:
        ch = channels.by_scene(session, scene)
        if ch is None:
            try:
                with savepoint(session):
                    ch = Channel(scene=scene, name=f"会员推荐 {scene[len(referrals.PREFIX):]}",
                                 kind="referral", permanent=False, **values)
                    session.add(ch)
            except IntegrityError:  # a concurrent request stored one: renew that row
                ch = channels.by_scene(session, scene)
        if ch is not None and not ch.permanent:
            for name, value in values.items():
                setattr(ch, name, value)
    return _view(gateway, ch)


def mask_card(card_no: str | None) -> str:
    if not card_no:
        return ""
    return card_no[:3] + "*" * max(len(card_no) - 6, 0) + card_no[-3:]


def results(uow: UnitOfWork, member_id: int) -> Results:
    """Use case (a read): how many joined through the member's code, what it earned them."""
    with uow.read() as session:
        _member(session, member_id)
        count = session.scalar(select(func.count()).select_from(Member)
                               .where(Member.referrer_id == member_id))
        earned = session.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0))
                                .where(PointsLedger.member_id == member_id,
                                       PointsLedger.reason == "referral"))
        recent = session.execute(select(Member.card_no, Member.joined_at)
                                 .where(Member.referrer_id == member_id)
                                 .order_by(Member.id.desc()).limit(RECENT)).all()
    return Results(int(count or 0), int(earned or 0),
                   [Referee(mask_card(c), j) for c, j in recent])
