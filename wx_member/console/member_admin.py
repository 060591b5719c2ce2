"""What operators do with members in the console: find them, see everything about one,
name them, adjust points with a reason, tag them, export them.

`store_id` (a store-scoped operator's store, None for HQ) narrows every use case to the
members whose home store it is, in the query itself: a member of another store is "not
found" (the same answer as an id that does not exist), whatever id a request names."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timezone, tzinfo

from stdnum import luhn
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.db import UnitOfWork
from wx_member.models import Delivery, Member, MemberTag, Store
from wx_member.members import cards, duplicates_view, merging
from wx_member.labels import tier_name
from wx_member.clock import local_text, utcnow
from wx_member.platform import audit
from wx_member.members import membership
from wx_member.members.formats import TAG_RE, clean_name
from wx_member.loyalty import points, redemptions_view
from wx_member.insights import reports
from wx_member.platform import keyset
from wx_member.platform.errors import DomainError, InvalidAmount, UnknownMember

PARTIAL_DIGITS = 4  # digits typed: part of a card number or a phone number
CARD_LENGTH = len(membership.card_number(1))
MAX_ADJUST = 1_000_000  # a typo guard: no single manual adjustment moves more
EXPORT_BATCH = 1000
# Operators' column names; member_import reads the file back (卡号, 姓名, 手机号, 标签
# change a member; 积分 only opens a member created from a phone; the others are ignored).
EXPORT_COLUMNS = ("卡号", "openid", "姓名", "手机号", "等级", "积分", "累计消费（元）", "关注",
                  "入会时间", "渠道", "标签")


class InvalidTag(DomainError):
    code = "INVALID_TAG"
    user_message = "标签须为 1-20 个汉字、字母、数字、'_' 或 '-'。"


def _in_store(q, store_id: int | None):
    return q if store_id is None else q.where(Member.home_store_id == store_id)


def search(uow: UnitOfWork, query: str, tag: str = "", limit: int = 50,
           store_id: int | None = None) -> list[Member]:
    """Use case (a read): a card number (check digit valid), part of a card number or a
    phone number (4+ digits), an openid (or its beginning) or part of a name (any case),
    optionally only members with `tag`. Empty query: the newest members."""
    q = _in_store(select(Member).order_by(Member.id.desc()).limit(limit), store_id)
    text = query.strip()
    if text:
        if membership.is_card_number(text):
            q = q.where(Member.card_no == text)
        elif text.lstrip("+").isdigit() and len(text) >= PARTIAL_DIGITS:
            if check_digit_hint(text):  # a whole card number with a typo finds no one else
                q = q.where(Member.phone == text)
            else:
                q = q.where(or_(Member.phone.contains(text, autoescape=True),
                                Member.card_no.contains(text, autoescape=True)))
        else:
            # A name is matched case-insensitively (lower() on both sides: MariaDB's
            # collation and SQLite's ASCII-only LIKE would disagree otherwise).
            q = q.where(or_(Member.openid.startswith(text, autoescape=True),
                            Member.name.icontains(" ".join(text.split()), autoescape=True)))
    if tag.strip():
        q = q.where(Member.id.in_(select(MemberTag.member_id).where(MemberTag.tag == tag.strip())))
    with uow.read() as session:
        return list(session.scalars(q))


def check_digit_hint(text: str) -> str | None:
    """The card number `text` was probably meant to be, when it has a card's length and
    prefix but a wrong check digit; else None."""
    text = text.strip()
    if (text.isdigit() and len(text) == CARD_LENGTH and text.startswith(membership.CARD_PREFIX)
            and not membership.is_card_number(text)):
        return text[:-1] + luhn.calc_check_digit(text[:-1])
    return None


def card_of(uow: UnitOfWork, text: str) -> str:
    """Use case (a read): the card number of the one member `text` names (card number,
    phone, openid, or a whole name that only one member has), for a form that acts on one
    member; UnknownMember otherwise (a name several members share lists their cards)."""
    text = text.strip()
    with uow.read() as session:
        member = (membership.by_card(session, text) if text.isdigit() else None) or \
            session.scalar(select(Member).where(or_(Member.phone == text, Member.openid == text))
                           .order_by(Member.id.desc()).limit(1))
        named = [] if member is not None or not text else _named(session, text)
    if member is None and len(named) == 1:
        member = named[0]
    if len(named) > 1:
        cards_named = "、".join(m.card_no for m in named[:NAMESAKES_SHOWN])
        raise UnknownMember(f"{len(named)} members named {text!r}",
                            user_message=f"姓名为「{text}」的会员不止一位（{cards_named}"
                            f"{'…' if len(named) > NAMESAKES_SHOWN else ''}），请填写卡号或手机号。")
    if member is None or not member.card_no:
        raise UnknownMember(f"no member {text!r}",
                            user_message=f"找不到卡号、手机号或姓名为 {text or '（空）'} 的会员。")
    return member.card_no


NAMESAKES_SHOWN = 5


def _named(session: Session, text: str) -> list[Member]:
    """Members whose whole name is `text` (any case, spaces as typed collapsed), newest
    first; erased members have no name and are never found."""
    name = " ".join(text.split()).lower()
    return list(session.scalars(
        select(Member).where(func.lower(Member.name) == name, Member.card_no.is_not(None))
        .order_by(Member.id.desc()).limit(NAMESAKES_SHOWN + 1)))


def recipients(uow: UnitOfWork, text: str) -> str:
    """Use case (a read): test recipients typed as card numbers or phone numbers (or
    openids, for staff who are not members) as the openids to send to, comma-separated.
    A number that finds no member with an openid is refused: it is never sent as an
    openid."""
    out, missing = [], []
    with uow.read() as session:
        for token in (t for t in re.split(r"[\s,，]+", text.strip()) if t):
            if not token.lstrip("+").isdigit():
                out.append(token)
                continue
            member = membership.by_card(session, token) or session.scalar(
                select(Member).where(Member.phone == token).order_by(Member.id.desc()).limit(1))
            if member is None or not member.openid:
                missing.append(token)
            else:
                out.append(member.openid)
    if missing:
        raise UnknownMember(f"no member for {missing!r}",
                            user_message=f"找不到卡号或手机号为 {'、'.join(missing)} 的关注会员。")
    return ",".join(out)


def tags_of(session: Session, member_id: int) -> list[str]:
    return list(session.scalars(select(MemberTag.tag).where(MemberTag.member_id == member_id)
                                .order_by(MemberTag.tag)))


def all_tags(uow: UnitOfWork, store_id: int | None = None) -> list[tuple[str, int]]:
    """Use case (a read): every tag in use and how many members have it."""
    q = select(MemberTag.tag, func.count()).group_by(MemberTag.tag).order_by(MemberTag.tag)
    if store_id is not None:
        q = q.join(Member, Member.id == MemberTag.member_id).where(
            Member.home_store_id == store_id)
    with uow.read() as session:
        return [(t, int(n)) for t, n in session.execute(q)]


def profile(uow: UnitOfWork, member_id: int, limit: int = 100,
            store_id: int | None = None, duplicates: bool = False) -> dict:
    """Use case (a read): everything the member page shows: card, ledger, cash-offs,
    orders, tiers, pushes, tags, home store and, with `duplicates`, the likely duplicates
    (of the operator's store, when scoped)."""
    with uow.read() as session:
        data = _profile(session, _member(session, member_id, store_id), limit)
        if duplicates:
            data["duplicates"] = duplicates_view.likely_duplicates(session, member_id,
                                                                   store_id=store_id)
        return data


def _profile(session: Session, member: Member, limit: int) -> dict:
    data = reports.member_profile(session, member, limit)
    data.update(
        id=member.id, phone=member.phone, name=member.name, tags=tags_of(session, member.id),
        card_history=cards.history_rows(session, member.id),
        merges=merging.history(session, member.id),
        cash_offs=redemptions_view.cash_offs_of(session, member.id),
        deliveries=[{"kind": d.kind, "occasion": d.occasion, "channel": d.channel,
                     "status": d.status, "dry_run": d.dry_run, "error": d.error,
                     "created_at": d.created_at, "sent_at": d.sent_at}
                    for d in session.scalars(select(Delivery).where(Delivery.member_id == member.id)
                                             .order_by(Delivery.id.desc()).limit(limit))],
        audit=audit.entries(session, 20, target=member.card_no or member.openid),
        home_store=(session.get(Store, member.home_store_id) if member.home_store_id
                    else None),
    )
    return data


def _member(session: Session, member_id: int, store_id: int | None = None) -> Member:
    member = session.scalar(_in_store(select(Member).where(Member.id == member_id), store_id))
    if member is None:
        raise UnknownMember(f"no member {member_id}", user_message="会员不存在。")
    return member


def adjust_points(uow: UnitOfWork, member_id: int, delta: int, note: str, key: str,
                  by: str, store_id: int | None = None) -> int | None:
    """Use case: a manual adjustment from the console. `key` comes with the form, so a
    double submit posts once. Returns the ledger entry id, None for a replay. The member is
    looked up first (a read), then `points.adjust` posts (its own transaction)."""
    if not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_ADJUST:
        raise InvalidAmount(f"bad delta {delta!r}",
                            user_message=f"调整数量须为非零整数，且不超过 {MAX_ADJUST:,}。")
    if not re.fullmatch(r"[A-Za-z0-9_\-]{8,64}", key):
        raise InvalidAmount(f"bad key {key!r}", user_message="表单已失效，请刷新后重试。")
    with uow.read() as session:
        member = _member(session, member_id, store_id)
    return points.adjust(uow, member, delta, note.strip(), key, by)


def set_name(uow: UnitOfWork, member_id: int, name: str, by: str,
             store_id: int | None = None) -> bool:
    """Use case: an operator sets (or, empty, clears) a member's name, audited. False when
    the name was already that (nothing written)."""
    name = clean_name(name)
    with uow.write() as session:
        member = _member(session, member_id, store_id)
        if member.erased_at is not None:
            raise UnknownMember(f"member {member_id} erased",
                                user_message="该会员的个人信息已删除，不能再填写姓名。")
        if member.name == name:
            return False
        audit.record(session, by, "member.name", member.card_no or member.openid,
                     member.name, name)
        member.name = name
    return True


def add_tag(uow: UnitOfWork, member_id: int, tag: str, by: str,
            store_id: int | None = None) -> bool:
    """Use case: tag a member. False when the member had the tag already (the duplicate
    key rolls the transaction back: nothing else was written in it)."""
    tag = tag.strip()
    if not TAG_RE.match(tag):
        raise InvalidTag(f"bad tag {tag!r}")
    try:
        with uow.write() as session:
            member = _member(session, member_id, store_id)
            session.add(MemberTag(member_id=member.id, tag=tag, created_by=by,
                                  created_at=utcnow()))
            session.flush()
            audit.record(session, by, "member.tag", member.card_no or member.openid, None, tag)
    except IntegrityError:
        return False
    return True


def remove_tag(uow: UnitOfWork, member_id: int, tag: str, by: str,
               store_id: int | None = None) -> bool:
    """Use case: untag a member. False when the member did not have the tag."""
    with uow.write() as session:
        member = _member(session, member_id, store_id)
        gone = session.execute(delete(MemberTag).where(MemberTag.member_id == member.id,
                                                       MemberTag.tag == tag)).rowcount
        if gone:
            audit.record(session, by, "member.untag", member.card_no or member.openid, tag, None)
    return bool(gone)


def record_export(uow: UnitOfWork, by: str, tag: str, store_id: int | None = None) -> None:
    """Use case: an operator downloads the member list (personal data): audited first."""
    after = {"tag": tag or None} | ({"store_id": store_id} if store_id is not None else {})
    with uow.write() as session:
        audit.record(session, by, "member.export", tag or "*", None, after)


def export_rows(uow: UnitOfWork, tag: str = "", store_id: int | None = None,
                tz: tzinfo = timezone.utc) -> Iterator[tuple]:
    """Use case (reads, in batches): the CSV rows, streamed a read transaction per batch
    (`platform.keyset`): bounded memory at any size, and no transaction held between
    batches."""
    yield EXPORT_COLUMNS
    q = _in_store(select(Member), store_id)
    if tag:
        q = q.where(Member.id.in_(select(MemberTag.member_id).where(MemberTag.tag == tag)))
    for session, batch in keyset.batches(uow.read, q, Member.id, size=EXPORT_BATCH,
                                         scalars=True):
        tags: dict[int, list[str]] = {}
        for member_id, t in session.execute(select(MemberTag.member_id, MemberTag.tag).where(
                MemberTag.member_id.in_([m.id for m in batch])).order_by(MemberTag.tag)):
            tags.setdefault(member_id, []).append(t)
        for m in batch:
            yield (m.card_no, m.openid, m.name or "", m.phone or "", tier_name(m.tier),
                   m.points_balance,
                   f"{m.total_spend_fen / 100:.2f}", "是" if m.subscribed else "否",
                   local_text(m.joined_at, tz, "%Y-%m-%d %H:%M:%S"), m.scene or "",
                   " ".join(tags.get(m.id, [])))
