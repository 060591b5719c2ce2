"""The dynamic member code: the mini-program shows it as a QR code, the cashier's scanner
reads it, and the cashier endpoint resolves it to the member. It is a signed token that
expires after `WX_MEMBER_CODE_TTL` seconds (default 60), so a screenshot passed around is
useless a minute later, while the card number stays printed and private.

A code is also single use: the till spends it on one order (`spent_member`), and a
replay on another order is refused (MemberCodeUsed) while the code lives. The spend is a
row keyed by a hash of the code's signed claims (`member_code_use`): the primary key, not
a read-then-write, decides a race between two tills, and the till's own retry of the same
order is let through (its answer is the order's, once per order). Housekeeping deletes
rows whose code has expired (`platform/housekeeping.prune_member_code_uses`).
"""
from __future__ import annotations

import hashlib

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.clock import from_timestamp, utcnow
from wx_member.db import UnitOfWork, savepoint
from wx_member.models import Member, MemberCodeUse
from wx_member.members.membership import by_card
from wx_member.platform import access_tokens
from wx_member.platform.access_tokens import Signed, TokenExpired, TokenInvalid
from wx_member.platform.errors import UnknownMember


class MemberCodeInvalid(TokenInvalid):
    code = "MEMBER_CODE_INVALID"
    user_message = "会员码无效，请让顾客刷新后重新出示。"


class MemberCodeExpired(TokenExpired):
    code = "MEMBER_CODE_EXPIRED"
    user_message = "会员码已过期，请让顾客刷新后重新出示。"


class MemberCodeUsed(MemberCodeInvalid):
    code = "MEMBER_CODE_USED"
    user_message = "会员码已使用，请让顾客刷新后重新出示。"


def issue(uow: UnitOfWork, key: str, member_id: int, ttl: int,
          now: float | None = None) -> Signed:
    """Use case: the member's code to show at the till (a read)."""
    with uow.read() as session:
        member = session.get(Member, member_id)
        if member is None or not member.card_no:
            raise UnknownMember(f"no member {member_id}")
    return access_tokens.sign(key, access_tokens.MEMBER_CODE, member.card_no, ttl, now,
                              nonce=True)


def resolve(uow: UnitOfWork, key: str, code: str, now: float | None = None) -> Member:
    """Use case: a cashier scanned a member code. Read-only."""
    with uow.read() as session:
        return scanned_member(session, key, code, now)


def _claims(key: str, code: str, now: float | None) -> tuple[str, str, int]:
    """(card number, code key, expiry) of a valid code."""
    claims = access_tokens.verified_claims(key, access_tokens.MEMBER_CODE, code.strip(), now,
                                           expired=MemberCodeExpired, invalid=MemberCodeInvalid)
    card_no = str(claims["sub"])
    code_key = hashlib.sha256(f"{card_no}:{claims['iat']}:{claims.get('jti')}"
                              .encode()).hexdigest()
    return card_no, code_key, int(claims["exp"])


def _member(session: Session, card_no: str) -> Member:
    member = by_card(session, card_no)
    if member is None:
        raise UnknownMember(f"no member with card {card_no}")
    return member


def scanned_member(session: Session, key: str, code: str, now: float | None = None) -> Member:
    """The member whose code was scanned, inside the caller's transaction, without spending
    the code (the till shows who it is). Raises MemberCodeInvalid, MemberCodeExpired,
    MemberCodeUsed (already spent on an order) or UnknownMember."""
    card_no, code_key, _ = _claims(key, code, now)
    if session.get(MemberCodeUse, code_key) is not None:
        raise MemberCodeUsed(f"member code of card {card_no} already spent")
    return _member(session, card_no)


def spent_member(session: Session, key: str, code: str, order_no: str,
                 now: float | None = None) -> Member:
    """The member whose code was scanned, spending the code on `order_no` inside the
    caller's (write) transaction. The same order again passes (a till's retry, or points
    and a coupon on one order); another order raises MemberCodeUsed, as do the errors of
    `scanned_member`."""
    card_no, code_key, expires = _claims(key, code, now)
    member = _member(session, card_no)
    row = {"code_key": code_key, "order_no": order_no, "expires_at": from_timestamp(expires),
           "used_at": from_timestamp(now) if now is not None else utcnow()}
    try:
        with savepoint(session):
            session.execute(insert(MemberCodeUse), row)
    except IntegrityError:  # spent before (or by a till racing this one, now committed)
        spent_on = session.scalar(select(MemberCodeUse.order_no)
                                  .where(MemberCodeUse.code_key == code_key))
        if spent_on != order_no:
            raise MemberCodeUsed(f"member code of card {card_no} spent on {spent_on}") from None
    return member

