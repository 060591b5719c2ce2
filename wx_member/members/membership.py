"""Members and their cards: numbering a card, creating the row, finding a member.

Joining and leaving, the use cases built on these, are in joining.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import luhn

from wx_member import statements
from wx_member.models import Channel, Member
from wx_member.platform import card_numbers
from wx_member.platform.errors import UnknownMember
from wx_member.row_writes import insert_row, loaded

CARD_PREFIX = "8"


def card_number(member_id: int) -> str:
    """Derived from the never-reused member id, so never reused either; the Luhn check
    digit lets a cashier's typo be caught before it finds the wrong member."""
    body = f"{CARD_PREFIX}{member_id:08d}"
    return body + luhn.calc_check_digit(body)


def is_card_number(text: str) -> bool:
    return text.isdigit() and text.startswith(CARD_PREFIX) and len(text) >= 10 and luhn.is_valid(text)


# Built once: every event looks its member up, every join may number a card.
_BY_OPENID = select(Member).where(Member.openid == bindparam("openid"))
_M = Member.__table__
_NUMBER = update(_M).where(_M.c.id == bindparam("member")).values(card_no=bindparam("card"))
# Joining through a channel code: the same statement gives the member the channel's store
# as their home store (归属门店), so a join costs no extra statement for it.
_CHANNEL = Channel.__table__
_NUMBER_HOME = _NUMBER.values(home_store_id=select(_CHANNEL.c.store_id).where(
    _CHANNEL.c.id == bindparam("channel")).scalar_subquery())


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


def by_card(session: Session, card_no: str, refuse_lost: bool = True) -> Member | None:
    """The member holding `card_no`, or whom a former number of theirs names (a merged
    duplicate's); CardLost for a number reported lost, unless `refuse_lost` is False."""
    found = session.scalar(select(Member).where(Member.card_no == card_no))
    return found or card_numbers.member_of_former(session, card_no, refuse_lost)


def new_member(session: Session, now: datetime, points: int = 0, **values) -> Member | None:
    """Insert a member and number its card, inside the caller's transaction; None when
    another event created the same person meanwhile (the unique openid or mini_openid).
    The webhook's join and the mini-program's login both create members here. `points`:
    the opening balance, whose ledger row the caller writes next (`points.opening`)."""
    try:
        # Two first events of one person may race (MariaDB). No savepoint: the losing
        # INSERT undoes only itself, in SQLite and InnoDB alike.
        row = insert_row(session, Member, joined_at=now, points_balance=points, **values)
    except IntegrityError:
        return None
    row["card_no"] = card_number(row["id"])
    if row.get("channel_id") is None:
        statements.run(session, _NUMBER, {"member": row["id"], "card": row["card_no"]})
    else:
        statements.run(session, _NUMBER_HOME, {"member": row["id"], "card": row["card_no"],
                                               "channel": row["channel_id"]})
        del row["home_store_id"]  # the database's: loaded when first read
    return loaded(session, Member, row)
