"""The dynamic member code: the mini-program shows it as a QR code, the cashier's scanner
reads it, and the cashier endpoint resolves it to the member. It is a signed token that
expires after `WX_MEMBER_CODE_TTL` seconds (default 60), so a screenshot passed around is
useless a minute later, while the card number stays printed and private.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from wx_member.models import Member
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


def issue(session: Session, key: str, member_id: int, ttl: int,
          now: float | None = None) -> Signed:
    member = session.get(Member, member_id)
    if member is None or not member.card_no:
        raise UnknownMember(f"no member {member_id}")
    return access_tokens.sign(key, access_tokens.MEMBER_CODE, member.card_no, ttl, now)


def resolve(session: Session, key: str, code: str, now: float | None = None) -> Member:
    """Use case: a cashier scanned a member code. Read-only."""
    card_no = access_tokens.verify(key, access_tokens.MEMBER_CODE, code.strip(), now,
                                   expired=MemberCodeExpired, invalid=MemberCodeInvalid)
    member = by_card(session, card_no)
    if member is None:
        raise UnknownMember(f"no member with card {card_no}")
    return member
