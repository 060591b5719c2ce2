"""The member page's likely duplicates (members/duplicates_view.py): the other members with
the same phone, the same unionid, or the same name and birthday, each with why it is listed,
newest first; never the member itself, an erased member or one merged into another (listed
again once that merge is undone); a name alone is not enough; a pair merging would refuse
is listed with the refusal; a store account sees its store's members only; the phone and
unionid lookups go through their indexes."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, update

from wx_member.clock import utcnow
from wx_member.members import joining, membership, merging, privacy, unmerging
from wx_member.members.duplicates_view import likely_duplicates
from wx_member.models import Member, Store

PHONE, UNIONID, NAME, BIRTHDAY = "13800001111", "uSame", "王小明", datetime(1990, 5, 1)


def _me(s, **values) -> int:
    """An Official Account member (joined by subscribing) with `values` on file."""
    with s.write():
        m = joining.join(s, "oMe", unionid=values.pop("unionid", None)).member
        for key, value in values.items():
            setattr(m, key, value)
        return m.id


def _other(s, **values) -> int:
    """A member with no Official Account openid (a mini-program login or a shop's list)."""
    with s.write():
        return membership.new_member(s, utcnow(), subscribed=False, **values).id


def _listed(s, member_id: int) -> list[tuple[int, list[str]]]:
    with s.read():
        return [(d["id"], d["reasons"]) for d in likely_duplicates(s, member_id)]


def test_same_phone_unionid_or_name_and_birthday_are_listed_newest_first_with_why(session):
    me = _me(session, unionid=UNIONID, phone=PHONE, name=NAME, birthday=BIRTHDAY)
    by_phone = _other(session, phone=PHONE, points=30, balance_fen=1250)
    by_unionid = _other(session, mini_openid="mSame", unionid=UNIONID)
    by_name = _other(session, name=NAME, birthday=BIRTHDAY)
    by_two = _other(session, phone=PHONE, name=NAME, birthday=BIRTHDAY)
    _other(session, phone="13900002222", name="李四", birthday=BIRTHDAY)  # a stranger
    assert _listed(session, me) == [(by_two, ["phone", "name_birthday"]),
                                    (by_name, ["name_birthday"]), (by_unionid, ["unionid"]),
                                    (by_phone, ["phone"])]
    with session.read():
        row = likely_duplicates(session, me)[-1]
        card = session.get(Member, by_phone).card_no
    assert (row["card_no"], row["phone"], row["points"], row["balance_fen"], row["refusal"]) == (
        card, PHONE, 30, 1250, None)
    assert _listed(session, by_phone) == [(by_two, ["phone"]), (me, ["phone"])]


def test_a_name_alone_is_not_enough(session):
    me = _me(session, name=NAME, birthday=BIRTHDAY)
    _other(session, name=NAME, birthday=datetime(1991, 5, 1))  # another birthday
    _other(session, name=NAME)  # no birthday on file
    _other(session, name="王小", birthday=BIRTHDAY)
    assert _listed(session, me) == []
    nameless = _other(session, name=NAME)  # no birthday of its own: nothing to compare
    assert _listed(session, nameless) == []


def test_the_member_itself_erased_and_merged_away_members_are_not_listed(session):
    me = _me(session, phone=PHONE)
    erased, absorbed, survivor = (_other(session, phone=PHONE) for _ in range(3))
    with session.read():
        erased_card = session.get(Member, erased).card_no
    privacy.erase_member(session, erased_card, by="test")
    done = merging.merge(session, survivor, absorbed, by="test")
    assert _listed(session, me) == [(survivor, ["phone"])]
    assert _listed(session, absorbed) == []  # its own page: nothing left to match
    unmerging.undo(session, done.merge_id, by="test")
    assert _listed(session, me) == [(survivor, ["phone"]), (absorbed, ["phone"])]


def test_marked_rows_are_left_out_by_the_query_itself(session):
    """Erasure and a merge clear the phone too; the query does not count on it."""
    me = _me(session, phone=PHONE)
    erased, absorbed, survivor = (_other(session, phone=PHONE) for _ in range(3))
    done = merging.merge(session, survivor, absorbed, by="test")
    with session.write():
        session.execute(update(Member).where(Member.id == erased).values(erased_at=utcnow()))
        session.execute(update(Member).where(Member.id == absorbed)
                        .values(phone=PHONE, card_no=membership.card_number(absorbed)))
    assert _listed(session, me) == [(survivor, ["phone"])]
    assert done.absorbed_id == absorbed


def test_a_pair_merging_refuses_is_listed_with_why_it_cannot_be_merged(session):
    me = _me(session, phone=PHONE)
    with session.write():
        follower = joining.join(session, "oOther").member  # an Official Account of its own
        follower.phone = PHONE
        follower = follower.id
    with session.read():
        [row] = likely_duplicates(session, me)
    assert row["id"] == follower and "两个会员各有公众号身份" in row["refusal"]


def test_at_most_ten_newest(session):
    me = _me(session, phone=PHONE)
    ids = [_other(session, phone=PHONE) for _ in range(12)]
    assert [i for i, _ in _listed(session, me)] == ids[::-1][:10]
    with session.read():
        assert len(likely_duplicates(session, me, limit=3)) == 3


def test_a_store_account_sees_only_its_store_s_members(session):
    with session.write():
        here, there = Store(code="SH001", name="一店"), Store(code="SH002", name="二店")
        session.add_all([here, there])
        session.flush()
        here, there = here.id, there.id
    me = _me(session, phone=PHONE, home_store_id=here)
    mine = _other(session, phone=PHONE, home_store_id=here)
    theirs = _other(session, phone=PHONE, home_store_id=there)
    with session.read():
        assert [d["id"] for d in likely_duplicates(session, me, store_id=here)] == [mine]
        assert [d["id"] for d in likely_duplicates(session, me)] == [theirs, mine]


def test_the_phone_and_unionid_lookups_use_their_indexes(session):
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans checked on SQLite")
    me = _me(session, unionid=UNIONID, phone=PHONE)
    _other(session, phone=PHONE)
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        _listed(session, me)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = {}
    with engine.connect() as conn:
        for statement, parameters in seen:
            for column in ("phone", "unionid"):
                if f"member.{column} = ?" in statement:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    plans[column] = " | ".join(r[-1] for r in rows)
    assert "USING INDEX ix_member_phone" in plans["phone"], plans
    assert "USING INDEX ix_member_unionid" in plans["unionid"], plans
    assert "TEMP B-TREE" not in plans["phone"] + plans["unionid"], plans  # no sort either
