"""One person, one member: merging a duplicate (`absorbed`) into the member who stays
(`survivor`), and undoing it within 7 days.

Duplicates arise because WeChat gives the same person another openid in the mini-program
and the unionid that links them only when both apps are bound to one Open Platform account.
Merges happen
- automatically (`auto_merging`) when WeChat gives a mini-program login a unionid another member already
  has (`miniapp.login`), or when the mini-program member verifies a phone number that an
  Official Account member already has (`miniapp.set_phone`): the logged-in mini-program
  member survives (their token stays valid) and the Official Account member is absorbed;
- by an operator otherwise (console, CLI), who names both.

A merge is a move, in one transaction, both members locked: every row of the absorbed
member (points and stored-value ledger rows, coupons and their events, orders, WeChat Pay
JSAPI orders and recharge refunds, tier changes, redemptions, pushes, card history,
requests) is re-pointed to the survivor and
the cached balances move by the same sums, so balance = ledger sum holds on both sides and
the sum of all balances is unchanged; no award is posted, so sign-up and referral are never
awarded twice (the awards the two members had stay, keyed as before, and a later join of
either openid finds the survivor, whose sign-up key is already taken). Tags and
subscription grants are added to the survivor's, and so is the record of the WeChat user
tags the absorbed member's openid carries (`wechat_tag_rows`: it follows the openid, so the
next sync untags what the survivor does not carry); referees of the absorbed member are the
survivor's now. The survivor takes the openid, mini-program openid, unionid, phone,
name, birthday and referrer it lacked, the higher tier and both spends; the absorbed
member's card number becomes an alias (`card_history` kind `merged`): the till finds the
survivor by it. Two Official Account openids (or two mini-program openids, or two
unionids) are two WeChat accounts: never merged.

The snapshot on `member_merge` lists the rows moved and the fields taken over; undoing puts
them back, refused when the survivor has since spent more than they would give back.
Rows written after the merge stay with the survivor.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, retrying
from wx_member.loyalty.tiers import rank
from wx_member.members import wechat_tag_rows
from wx_member.models import (
    CardHistory, Coupon, CouponEvent, Delivery, JsapiOrder, Member, MemberMerge, MemberTag,
    Order, PointsLedger, PointsRedemption, PrivacyRequest, RechargeRefund, StorePayment,
    StoredValueLedger, SubscribeGrant, TierHistory,
)
from wx_member.platform import audit
from wx_member.platform.errors import DomainError, UnknownMember
from wx_member.platform.ledger import lock_member

UNDO_WITHIN = timedelta(days=7)
# Tables whose rows are the member's by a member_id column and an id: re-pointed as they are.
MOVED = (PointsLedger, StoredValueLedger, Coupon, CouponEvent, Order, TierHistory,
         PointsRedemption, Delivery, PrivacyRequest, CardHistory, JsapiOrder, RechargeRefund,
         StorePayment)
# What the survivor takes over when it has none, and gives back on undo.
FIELDS = ("openid", "mini_openid", "unionid", "phone", "name", "birthday", "referrer_id",
          "channel_id", "scene")


class MergeRefused(DomainError):
    code = "MERGE_REFUSED"
    user_message = "这两个会员不能合并。"


@dataclass(frozen=True)
class Merged:
    merge_id: int
    survivor_id: int
    absorbed_id: int
    points: int  # moved to the survivor
    balance_fen: int


def refuse(detail: str, message: str) -> MergeRefused:
    return MergeRefused(detail, user_message=message)


def absorbed_by(session: Session, member_id: int) -> MemberMerge | None:
    """The merge (not undone) that absorbed this member, if any."""
    return session.scalar(select(MemberMerge).where(MemberMerge.absorbed_id == member_id,
                                                    MemberMerge.undone_at.is_(None)))


def lock_both(session: Session, a_id: int, b_id: int) -> tuple[Member, Member]:
    # Lower id first: two merges of the same pair queue instead of deadlocking.
    first, second = sorted((a_id, b_id))
    locked = {first: lock_member(session, Member.id == first),
              second: lock_member(session, Member.id == second)}
    if None in locked.values():
        raise UnknownMember(f"no member {a_id} or {b_id}", user_message="会员不存在。")
    return locked[a_id], locked[b_id]


def check(session: Session, survivor: Member, absorbed: Member) -> None:
    """Raises MergeRefused unless `absorbed` may be merged into `survivor`."""
    for m in (survivor, absorbed):
        if absorbed_by(session, m.id) is not None:
            raise refuse(f"member {m.id} was merged", "该会员已被合并到另一会员。")
    check_pair(survivor, absorbed)


def check_pair(survivor: Member, absorbed: Member) -> None:
    """What `check` asks of the two rows themselves, no query: a caller that already knows
    neither was merged away (the likely-duplicates list) asks only this."""
    if survivor.id == absorbed.id:
        raise refuse("same member", "不能与自己合并。")
    if survivor.erased_at or absorbed.erased_at:
        raise refuse("erased", "个人信息已删除的会员不能合并。")
    for field, what in (("openid", "公众号"), ("mini_openid", "小程序")):
        if getattr(survivor, field) and getattr(absorbed, field):
            raise refuse(f"both have a {field}",
                          f"两个会员各有{what}身份，是两个不同的微信账号，不能合并。")
    if survivor.unionid and absorbed.unionid and survivor.unionid != absorbed.unionid:
        raise refuse("two unionids", "两个会员属于不同的微信用户，不能合并。")


def merge_in(session: Session, survivor: Member, absorbed: Member, reason: str, by: str,
             now: datetime) -> Merged:
    """Merge `absorbed` into `survivor` inside the caller's transaction, both rows locked
    by the caller (module docstring)."""
    check(session, survivor, absorbed)
    session.flush()
    snap: dict = {"rows": {}, "survivor": {f: _jsonable(getattr(survivor, f)) for f in FIELDS},
                  "absorbed": {f: _jsonable(getattr(absorbed, f)) for f in FIELDS}}
    for model in MOVED:
        ids = list(session.scalars(select(model.id).where(model.member_id == absorbed.id)))
        if ids:
            session.execute(update(model).where(model.id.in_(ids))
                            .values(member_id=survivor.id)
                            .execution_options(synchronize_session=False))
            snap["rows"][model.__tablename__] = ids
    # (The survivor itself, if the absorbed member referred it, keeps that link: repointing
    # it would make the survivor its own referrer.)
    snap["referees"] = list(session.scalars(select(Member.id).where(
        Member.referrer_id == absorbed.id, Member.id != survivor.id)))
    if snap["referees"]:
        session.execute(update(Member).where(Member.id.in_(snap["referees"]))
                        .values(referrer_id=survivor.id)
                        .execution_options(synchronize_session=False))
    snap["tags"] = _move_tags(session, absorbed.id, survivor.id)
    if absorbed.openid is not None:  # the survivor takes it (two openids are refused)
        wechat_tag_rows.follow_openid(session, absorbed.id, survivor.id)
    snap["grants"] = _move_grants(session, absorbed.id, survivor.id)
    moved_points, moved_fen = absorbed.points_balance, absorbed.balance_fen
    snap.update(points=moved_points, balance_fen=moved_fen,
                spend_fen=absorbed.total_spend_fen, card_no=absorbed.card_no,
                survivor_tier=[survivor.tier, _jsonable(survivor.tier_since)],
                absorbed_tier=[absorbed.tier, _jsonable(absorbed.tier_since)],
                subscribed=absorbed.subscribed, joined_at=_jsonable(survivor.joined_at))
    taken = {f: getattr(absorbed, f) for f in FIELDS
             if getattr(survivor, f) is None and getattr(absorbed, f) is not None
             and not (f == "referrer_id" and absorbed.referrer_id == survivor.id)}
    for f in FIELDS:  # the absorbed row lets go first: openids and card numbers are unique
        setattr(absorbed, f, None)
    card_no, absorbed.card_no = absorbed.card_no, None
    absorbed.subscribed = False
    session.flush()
    for f, value in taken.items():
        setattr(survivor, f, value)
    survivor.subscribed = survivor.subscribed or snap["subscribed"]
    survivor.joined_at = min(survivor.joined_at, absorbed.joined_at)
    if rank(absorbed.tier) > rank(survivor.tier):
        survivor.tier, survivor.tier_since = absorbed.tier, absorbed.tier_since
    survivor.total_spend_fen += absorbed.total_spend_fen
    absorbed.total_spend_fen = 0
    move_balances(session, absorbed.id, survivor.id, moved_points, moved_fen)
    if card_no:
        session.execute(insert(CardHistory).values(member_id=survivor.id, card_no=card_no,
                                                   kind="merged", by=by[:60], at=now))
    row = MemberMerge(survivor_id=survivor.id, absorbed_id=absorbed.id, reason=reason,
                      by=by[:60], at=now, snapshot=snap)
    session.add(row)
    session.flush()
    audit.record(session, by, "member.merge", survivor.card_no or str(survivor.id),
                 {"absorbed_card_no": card_no, "reason": reason},
                 {"merge": row.id, "points": moved_points, "balance_fen": moved_fen}, now)
    reload(session, survivor, absorbed)  # balances moved by Core statements
    return Merged(row.id, survivor.id, absorbed.id, moved_points, moved_fen)


def move_balances(session: Session, from_id: int, to_id: int, points: int, fen: int) -> None:
    """The cached balances follow the ledger rows that moved, in the same transaction."""
    m = Member.__table__
    for member_id, sign in ((from_id, -1), (to_id, 1)):
        session.execute(update(m).where(m.c.id == member_id).values(
            points_balance=m.c.points_balance + sign * points,
            balance_fen=m.c.balance_fen + sign * fen))


def reload(session: Session, *members: Member) -> None:
    session.flush()
    session.expire_all()
    for m in members:
        session.refresh(m)


def _move_tags(session: Session, from_id: int, to_id: int) -> list[str]:
    have = set(session.scalars(select(MemberTag.tag).where(MemberTag.member_id == to_id)))
    tags = list(session.scalars(select(MemberTag.tag).where(MemberTag.member_id == from_id)))
    new = [t for t in tags if t not in have]
    session.execute(delete(MemberTag).where(MemberTag.member_id == from_id))
    for t in new:
        session.add(MemberTag(member_id=to_id, tag=t, created_by="merge", created_at=utcnow()))
    return new


def _move_grants(session: Session, from_id: int, to_id: int) -> dict[str, int]:
    grants = dict(session.execute(select(SubscribeGrant.template_id, SubscribeGrant.remaining)
                                  .where(SubscribeGrant.member_id == from_id)).all())
    session.execute(delete(SubscribeGrant).where(SubscribeGrant.member_id == from_id))
    for template_id, n in grants.items():
        row = session.get(SubscribeGrant, (to_id, template_id))
        if row is None:
            session.add(SubscribeGrant(member_id=to_id, template_id=template_id, remaining=n))
        else:
            row.remaining += n
    return grants


def _jsonable(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


# -- use cases ------------------------------------------------------------------------------
def merge(uow: UnitOfWork, survivor_id: int, absorbed_id: int, by: str,
          now: datetime | None = None) -> Merged:
    """Use case: an operator merges member `absorbed_id` into `survivor_id`."""
    now = now or utcnow()

    def attempt() -> Merged:
        with uow.write() as session:
            survivor, absorbed = lock_both(session, survivor_id, absorbed_id)
            return merge_in(session, survivor, absorbed, "operator", by, now)
    return retrying(f"merge {absorbed_id} into {survivor_id}", attempt)


def merge_named(uow: UnitOfWork, survivor_id: int, other: str, by: str,
                now: datetime | None = None) -> Merged:
    """Use case: an operator merges the member `other` names (openid, mini-program openid
    or card number) into member `survivor_id`."""
    now = now or utcnow()
    other = (other or "").strip()
    with uow.write() as session:
        found = session.scalar(select(Member.id).where(
            (Member.openid == other) | (Member.mini_openid == other) | (Member.card_no == other)))
        if not other or found is None:
            raise UnknownMember(f"no member {other!r}", user_message="找不到要合并的会员。")
        survivor, absorbed = lock_both(session, survivor_id, found)
        return merge_in(session, survivor, absorbed, "operator", by, now)


def history(session: Session, member_id: int, now: datetime | None = None) -> list[dict]:
    """The merges this member took part in, newest first, and whether each may be undone."""
    now = now or utcnow()
    return [{"id": r.id, "survivor_id": r.survivor_id, "absorbed_id": r.absorbed_id,
             "reason": r.reason, "by": r.by, "at": r.at, "undone_at": r.undone_at,
             "card_no": (r.snapshot or {}).get("card_no"),
             "status": "undone" if r.undone_at else
             ("survivor" if r.survivor_id == member_id else "absorbed"),
             "undoable": r.undone_at is None and now - r.at <= UNDO_WITHIN
             and not (r.snapshot or {}).get("erased")}
            for r in session.scalars(select(MemberMerge).where(
                (MemberMerge.survivor_id == member_id) | (MemberMerge.absorbed_id == member_id))
                .order_by(MemberMerge.id.desc()))]


def ledger_sums(session: Session, member_id: int) -> tuple[int, int]:
    """(points, stored value) ledger sums: what the cached balances must equal."""
    return (int(session.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0))
                               .where(PointsLedger.member_id == member_id))),
            int(session.scalar(select(func.coalesce(func.sum(StoredValueLedger.delta_fen), 0))
                               .where(StoredValueLedger.member_id == member_id))))
