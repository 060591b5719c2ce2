"""Undoing a merge (members/merging.py) within 7 days: the rows the merge re-pointed go
back to the absorbed member, with the balances they carry, and each member gets back the
fields and card number it had; the card alias goes. Refused when the survivor has since
spent more points or stored value than they would give back (an operator adjusts by hand
then), after 7 days, after an erasure of either member (the snapshot is gone), and while
the survivor is itself absorbed by a later merge. Rows written after the merge stay with
the survivor.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.members import wechat_tag_rows
from wx_member.members.merging import (FIELDS, MOVED, UNDO_WITHIN, absorbed_by, lock_both,
                                       move_balances, refuse, reload)
from wx_member.models import CardHistory, Member, MemberMerge, MemberTag, SubscribeGrant
from wx_member.platform import audit


def undo(uow: UnitOfWork, merge_id: int, by: str, now: datetime | None = None) -> MemberMerge:
    """Use case: put a merge back, within 7 days (module docstring)."""
    now = now or utcnow()
    with uow.write() as session:
        row = session.get(MemberMerge, merge_id)
        if row is None:
            raise refuse(f"no merge {merge_id}", "合并记录不存在。")
        if row.undone_at is not None:
            raise refuse("undone", "该合并已撤销。")
        if now - row.at > UNDO_WITHIN or row.snapshot.get("erased"):
            raise refuse("too late", "合并超过 7 天（或会员信息已删除），不能撤销。")
        survivor, absorbed = lock_both(session, row.survivor_id, row.absorbed_id)
        if absorbed_by(session, survivor.id) is not None:
            raise refuse("survivor merged since", "该会员之后又被合并，请先撤销那次合并。")
        snap = row.snapshot
        if survivor.points_balance < snap["points"] or survivor.balance_fen < snap["balance_fen"]:
            raise refuse("spent since", "合并后已使用了合并来的积分或储值，不能自动撤销，请手工处理。")
        _put_back(session, row, survivor, absorbed, snap)
        row.undone_at, row.undone_by = now, by[:60]
        audit.record(session, by, "member.unmerge", survivor.card_no or str(survivor.id),
                     {"merge": row.id}, {"absorbed_card_no": snap["card_no"]}, now)
    return row


def _put_back(session: Session, row: MemberMerge, survivor: Member, absorbed: Member,
              snap: dict) -> None:
    tables = {m.__tablename__: m for m in MOVED}
    if snap["card_no"]:
        session.execute(delete(CardHistory).where(CardHistory.card_no == snap["card_no"]))
    for name, ids in snap["rows"].items():
        model = tables[name]
        session.execute(update(model).where(model.id.in_(ids)).values(member_id=absorbed.id)
                        .execution_options(synchronize_session=False))
    if snap["referees"]:
        session.execute(update(Member).where(Member.id.in_(snap["referees"]))
                        .values(referrer_id=absorbed.id)
                        .execution_options(synchronize_session=False))
    for t in snap["tags"]:
        session.execute(delete(MemberTag).where(MemberTag.member_id == survivor.id,
                                                MemberTag.tag == t))
        session.add(MemberTag(member_id=absorbed.id, tag=t, created_by="unmerge",
                              created_at=utcnow()))
    for template_id, n in snap["grants"].items():
        mine = session.get(SubscribeGrant, (survivor.id, template_id))
        back = min(n, mine.remaining if mine else 0)
        if mine is not None:
            mine.remaining -= back
        session.add(SubscribeGrant(member_id=absorbed.id, template_id=template_id,
                                   remaining=back))
    # A merge made before a field joined FIELDS (name) left that field alone: so does undo.
    fields = [f for f in FIELDS if f in snap["absorbed"]]
    if snap["survivor"].get("openid") is None and snap["absorbed"].get("openid") \
            and survivor.openid == snap["absorbed"]["openid"]:
        # The openid goes back, with what WeChat was told it carries since the merge too.
        wechat_tag_rows.follow_openid(session, survivor.id, absorbed.id)
    for f in fields:
        if snap["survivor"][f] is None and getattr(survivor, f) == _field(snap["absorbed"], f):
            setattr(survivor, f, None)
    session.flush()
    for f in fields:
        setattr(absorbed, f, _field(snap["absorbed"], f))
    absorbed.card_no, absorbed.subscribed = snap["card_no"], snap["subscribed"]
    survivor.tier, since = snap["survivor_tier"]
    survivor.tier_since = _date(since)
    absorbed.tier, since = snap["absorbed_tier"]
    absorbed.tier_since = _date(since)
    survivor.total_spend_fen -= snap["spend_fen"]
    absorbed.total_spend_fen = snap["spend_fen"]
    survivor.joined_at = datetime.fromisoformat(snap["joined_at"])
    move_balances(session, survivor.id, absorbed.id, snap["points"], snap["balance_fen"])
    reload(session, survivor, absorbed)


def _field(values: dict, f: str):
    v = values[f]
    return datetime.fromisoformat(v) if f == "birthday" and v else v


def _date(v):
    return date.fromisoformat(v) if v else None
