"""Likely duplicates of a member (read model): the other members who look like the same
person, for the console's member page to offer a one-click merge instead of a card number
the operator has to find in another tab.

A candidate shares with the member
- the phone number, compared as stored (`phone`),
- the unionid (`unionid`), or
- the name and the birthday, both set and equal (`name_birthday`): a name alone is never
  enough, two people may share one.
Never a candidate: the member itself, an erased member (`erased_at` set) and a member merged
into another (a `member_merge` row that absorbed it and was not undone; such a member also
has no card number left). Each is looked up through its index (`ix_member_phone`,
`ix_member_unionid`, `ix_member_name`: sparse on SQLite, holding only members who have one),
the name only when the member has both a name and a birthday.

Newest first (by id), at most `limit`; each with the reasons it was found and, when
`merging.check_pair` would refuse to merge it into the member (two WeChat accounts, two
unionids), the refusal as operators read it. Rule functions: the caller's transaction.
"""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from wx_member.members.merging import MergeRefused, check_pair
from wx_member.models import Member, MemberMerge

REASONS = ("phone", "unionid", "name_birthday")  # the order a candidate's reasons are listed


def _lookups(member: Member) -> list[tuple[str, list]]:
    found = []
    if member.phone:
        found.append(("phone", [Member.phone == member.phone]))
    if member.unionid:
        found.append(("unionid", [Member.unionid == member.unionid]))
    if member.name and member.birthday:
        found.append(("name_birthday", [Member.name == member.name,
                                        Member.birthday == member.birthday]))
    return found


def likely_duplicates(session: Session, member_id: int, limit: int = 10,
                      store_id: int | None = None) -> list[dict]:
    """The members who look like the same person as member `member_id` (module docstring),
    newest first; only members of `store_id` when given (a store-scoped operator's view)."""
    member = session.get(Member, member_id)
    if member is None or member.erased_at is not None or member.card_no is None:
        return []
    absorbed = exists().where(MemberMerge.absorbed_id == Member.id, MemberMerge.undone_at.is_(None))
    reasons: dict[int, list[str]] = {}
    for reason, where in _lookups(member):
        # Each lookup alone, newest first: the newest `limit` of all are among the newest
        # `limit` of each, and each keeps to its index.
        q = (select(Member.id).where(*where, Member.id != member.id, Member.erased_at.is_(None),
                                     Member.card_no.is_not(None), ~absorbed)
             .order_by(Member.id.desc()).limit(limit))
        if store_id is not None:
            q = q.where(Member.home_store_id == store_id)
        for found in session.scalars(q):
            reasons.setdefault(found, []).append(reason)
    ids = sorted(reasons, reverse=True)[:limit]
    if not ids:
        return []
    rows = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    return [_row(member, rows[i], reasons[i]) for i in ids]


def _row(member: Member, other: Member, reasons: list[str]) -> dict:
    return {"id": other.id, "card_no": other.card_no, "name": other.name, "phone": other.phone,
            "joined_at": other.joined_at, "points": other.points_balance,
            "balance_fen": other.balance_fen,
            "reasons": sorted(reasons, key=REASONS.index),
            "refusal": _refusal(member, other)}


def _refusal(survivor: Member, other: Member) -> str | None:
    """Why `other` could not be merged into `survivor` (merging's own rules for the pair;
    neither is merged away, the query saw to it), or None."""
    try:
        check_pair(survivor, other)
    except MergeRefused as exc:
        return exc.user_message
    return None
