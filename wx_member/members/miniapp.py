"""Mini-program members: login (wx.login code → jscode2session → member) and the profile
a member may fill in themselves (name, birthday once, phone through WeChat's phone-number
code).

The mini-program has its own appid, so WeChat gives the same person another openid there;
the unionid (present when both apps are bound to one Open Platform account) links the two.
A login therefore finds the member by mini-program openid, else links the Official Account
member with the same unionid, else creates a member (with a card and sign-up points, as a
join by QR code does). A duplicate found later (the same unionid given to a login, the
same phone verified) is merged into the logged-in member (`auto_merging`). WeChat's `session_key` is dropped here: it is never stored, logged
or returned.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork, savepoint
from wx_member.clock import utcnow
from wx_member.models import Member
from wx_member.members import channels
from wx_member.coupons import wallet
from wx_member.loyalty import points
from wx_member.members import auto_merging, referrals
from wx_member.members.formats import clean_name
from wx_member.members.membership import new_member
from wx_member.platform import settings
from wx_member.platform.errors import DomainError, UnknownMember, WeChatUnavailable
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)

SCENE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
BAD_CODE_ERRCODES = {40029, 40163, 40226}  # invalid code, code already used, risky user
EARLIEST_BIRTHDAY = date(1900, 1, 1)


class InvalidLoginCode(DomainError):
    code = "LOGIN_CODE_INVALID"
    user_message = "登录凭证无效或已使用，请重新登录。"


class BirthdayAlreadySet(DomainError):
    code = "BIRTHDAY_ALREADY_SET"
    user_message = "生日设置后不能修改，如需更正请联系门店。"


class InvalidBirthday(DomainError):
    code = "BIRTHDAY_INVALID"
    user_message = "生日日期无效。"


class InvalidPhoneCode(DomainError):
    code = "PHONE_CODE_INVALID"
    user_message = "手机号授权已失效，请重新授权。"


@dataclass
class LoginResult:
    member: Member
    created: bool  # a new member
    linked: bool  # an Official Account member got their mini-program openid now


def _wechat_failure(exc: GatewayError, bad_code: type[DomainError]) -> DomainError:
    if exc.errcode in BAD_CODE_ERRCODES:
        return bad_code(f"WeChat {exc.errcode}: {exc.errmsg}")
    log.warning("WeChat call failed: %s", exc)
    return exc  # a WeChatUnavailable already


def login(uow: UnitOfWork, gateway: WeChatGateway, js_code: str, *, appid: str, secret: str,
          scene: str | None = None, now: datetime | None = None) -> LoginResult:
    """Use case: the mini-program logged in with a wx.login() code."""
    if scene is not None and not SCENE_RE.match(scene):
        scene = None  # a launch parameter we do not know: ignore it, do not refuse the login
    try:
        wx = gateway.code_to_session(js_code, appid, secret)
    except GatewayError as exc:
        raise _wechat_failure(exc, InvalidLoginCode) from None
    now = now or utcnow()
    with uow.write() as session:
        for _ in range(2):  # a second pass finds the row a concurrent first login created
            found = _find_or_link(session, wx.openid, wx.unionid)
            if found is not None:
                merged = auto_merging.merge_same_unionid(session, found[0], now)
                return LoginResult(found[0], created=False, linked=found[1] or bool(merged))
            member = _create(session, wx.openid, wx.unionid, scene, now)
            if member is not None:
                signup = settings.get(session, "signup_points")
                if signup:
                    points.post(session, member, signup, "signup", f"signup:{member.id}",
                                source=scene or "miniapp")
                if scene:
                    referrals.credit_referrer(session, member, scene)
                # The sign-up gift, as a join through the Official Account gives it.
                wallet.issue_signup(session, member, now)
                return LoginResult(member, created=True, linked=False)
    raise AssertionError("a member with this mini-program openid vanished")


def _find_or_link(session: Session, mini_openid: str,
                  unionid: str | None) -> tuple[Member, bool] | None:
    member = session.scalar(select(Member).where(Member.mini_openid == mini_openid))
    if member is not None:
        if unionid and not member.unionid:
            member.unionid = unionid
        return member, False
    if not unionid:
        return None
    member = session.scalar(select(Member).where(Member.unionid == unionid,
                                                 Member.mini_openid.is_(None))
                            .order_by(Member.id).limit(1))
    if member is None:
        return None
    try:
        with savepoint(session):
            member.mini_openid = mini_openid
            session.flush()
    except IntegrityError:  # a concurrent login linked or created first: look again
        session.expire(member)
        return None
    return member, True


def _create(session: Session, mini_openid: str, unionid: str | None, scene: str | None,
            now: datetime) -> Member | None:
    # Not following the Official Account (as far as we know): no template pushes.
    return new_member(session, now, openid=None, mini_openid=mini_openid, unionid=unionid,
                      scene=scene, subscribed=False,
                      channel_id=channels.id_by_scene(session, scene) if scene else None)


# -- profile --------------------------------------------------------------------------------
def get(uow: UnitOfWork, member_id: int) -> Member:
    """Use case: the member's profile (a read: no write lock on SQLite)."""
    with uow.read() as session:
        return _get(session, member_id)


def _get(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise UnknownMember(f"no member {member_id}")
    return member


def set_name(uow: UnitOfWork, member_id: int, name: str) -> Member:
    """Use case: the member types their name (姓名); empty clears it. Theirs to change."""
    name = clean_name(name)
    with uow.write() as session:
        member = _get(session, member_id)
        member.name = name
    return member


def set_birthday(uow: UnitOfWork, member_id: int, birthday: date, today: date) -> Member:
    """Use case: the member gives their birthday, once (it drives birthday perks: changing it
    at will would allow a perk every month)."""
    if not EARLIEST_BIRTHDAY <= birthday <= today:
        raise InvalidBirthday(f"birthday {birthday} outside {EARLIEST_BIRTHDAY}..{today}")
    with uow.write() as session:
        member = session.scalar(select(Member).where(Member.id == member_id).with_for_update()
                                .execution_options(populate_existing=True))
        if member is None:
            raise UnknownMember(f"no member {member_id}")
        if member.birthday is not None:
            raise BirthdayAlreadySet(f"member {member_id} has a birthday")
        member.birthday = datetime(birthday.year, birthday.month, birthday.day)
    return member


def set_phone(uow: UnitOfWork, gateway: WeChatGateway, member_id: int, code: str) -> Member:
    """Use case: the member allowed WeChat to give us their phone number (getPhoneNumber).
    A read, the call to WeChat with no transaction open, then a write."""
    with uow.read() as session:
        _get(session, member_id)  # an unknown member spends no WeChat call
    try:
        phone = gateway.user_phone_number(code)
    except GatewayError as exc:
        raise _wechat_failure(exc, InvalidPhoneCode) from None
    if not phone.phone:
        raise WeChatUnavailable("WeChat gave no phone number")
    with uow.write() as session:
        member = _get(session, member_id)
        member.phone = phone.phone[:20]
        session.flush()
        auto_merging.merge_same_phone(session, member, utcnow())
    return member
