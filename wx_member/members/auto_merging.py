"""Automatic merges: the mini-program login or phone verification that shows two members
are one person (members/merging.py merges them).

A login that WeChat gives a unionid another member already has (`merge_same_unionid`), or a
mini-program member verifying a phone number that a member without a mini-program openid
already has (`merge_same_phone`), finds the duplicate; the logged-in member survives. When
`merging.check` refuses the pair, nothing is merged: not the same person as far as we can
tell, an operator decides.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.members.merging import Merged, MergeRefused, check, lock_both, merge_in
from wx_member.models import Member


def _auto(session: Session, survivor: Member, other_id: int | None, reason: str,
          now: datetime) -> Merged | None:
    if other_id is None:
        return None
    survivor, other = lock_both(session, survivor.id, other_id)
    try:
        check(session, survivor, other)
    except MergeRefused:
        return None  # not the same person as far as we can tell: an operator decides
    return merge_in(session, survivor, other, reason, "auto", now)


def _candidates(session: Session, member: Member, *where):
    return (select(Member.id).where(Member.id != member.id, Member.erased_at.is_(None),
                                    Member.card_no.is_not(None), *where)
            .order_by(Member.id).limit(1))


def merge_same_unionid(session: Session, member: Member, now: datetime) -> Merged | None:
    """In the caller's transaction: WeChat gave `member` (logged in to the mini-program) a
    unionid another member has: that member is the same person, merged into this one."""
    if not member.unionid:
        return None
    other = session.scalar(_candidates(session, member, Member.unionid == member.unionid))
    return _auto(session, member, other, "unionid", now)


def merge_same_phone(session: Session, member: Member, now: datetime) -> Merged | None:
    """In the caller's transaction: the mini-program member `member` verified (through
    WeChat) a phone number another member without a mini-program openid already has: an
    Official Account member (when `member` has no Official Account openid), or a member
    imported from a shop's list by phone alone (no WeChat identity at all). That member is
    the same person, merged into this one."""
    if not member.phone:
        return None
    # Two Official Account openids are two WeChat accounts (`check` refuses them): only a
    # member without one may be absorbed into a member who has one.
    where = [Member.phone == member.phone, Member.mini_openid.is_(None)]
    if member.openid:
        where.append(Member.openid.is_(None))
    other = session.scalar(_candidates(session, member, *where))
    return _auto(session, member, other, "phone", now)
