"""What the join path's shortcuts must not change, and reads that do not queue behind writers.

The join writes its rows with Core statements and hands back ORM objects built from them,
reads the settings once per transaction and remembers channel ids: each is checked against
what the database says. On SQLite, read-only use cases run beside a writer.
"""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

from wx_member import migrate
from wx_member.db import make_engine, make_session_factory, reading
from wx_member.models import Coupon, Member, utcnow
from wx_member.members import channels
from wx_member.coupons import wallet
from wx_member.members import card_view
from wx_member.members import joining, membership
from wx_member.platform import settings


def _columns(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}


def test_a_new_member_and_coupon_hold_what_the_database_holds(session):
    with session.begin():
        result = joining.join(session, "oFresh", scene="poster_9", now=datetime(2026, 5, 1, 8))
    assert result.created and result.coupon == "10元代金券"
    seen = _columns(result.member)
    coupon = session.scalar(select(Coupon).where(Coupon.member_id == result.member.id))
    issued = _columns(coupon)
    session.expunge_all()  # forget the objects the join built: read the rows themselves
    assert _columns(session.get(Member, seen["id"])) == seen
    assert _columns(session.get(Coupon, issued["id"])) == issued
    assert seen["tier"] == "normal" and seen["points_balance"] == 10
    assert seen["card_no"] == membership.card_number(seen["id"])


def test_changes_to_a_joined_member_in_the_same_transaction_are_kept(session):
    with session.begin():
        member = joining.join(session, "oLater").member
        member.phone = "13800000000"  # an ORM change to the object the Core insert built
    session.expunge_all()
    assert membership.by_openid(session, "oLater").phone == "13800000000"


def test_a_setting_changed_between_two_events_applies_to_the_second(session, db_url):
    other = make_session_factory(make_engine(db_url))()
    with session.begin():
        first = joining.join(session, "oFirst").signup_points
    settings.change(other, "signup_points", 25, by="test")
    with session.begin():
        second = joining.join(session, "oSecond").signup_points
    other.close()
    assert (first, second) == (10, 25)


def test_a_scene_joined_before_its_channel_existed_counts_for_it_once_created(live, sim):
    sim.subscribe("oEarly", scene="late_store")
    with live.session() as s:
        assert membership.by_openid(s, "oEarly").channel_id is None
        created = channels.create(s, live.rt.gateway, scene="late_store", name="新店",
                                  kind="store")
    sim.subscribe("oOnTime", scene="late_store")
    with live.session() as s:
        assert membership.by_openid(s, "oOnTime").channel_id == created.id


# -- reads beside a writer (SQLite) --------------------------------------------------------

@pytest.fixture
def sqlite_file(tmp_path):
    """A migrated SQLite file, a member with points, and sessions that fail at once rather
    than wait when they need a lock another connection holds."""
    path = tmp_path / "reads.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=0"))
    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        member_id = joining.join(s, "oReader").member.id
    yield path, sessions, member_id
    engine.dispose()


def test_my_card_reads_while_another_process_holds_the_write_lock(sqlite_file):
    path, sessions, member_id = sqlite_file
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another worker in the middle of a join
    try:
        with sessions() as s:
            card = card_view.card(s, member_id, ZoneInfo("Asia/Shanghai"))
            assert card.points == 10
            entries, _ = card_view.points_page(s, member_id, None, 10)
            assert [e.reason for e in entries] == ["signup"]
        with sessions() as s, pytest.raises(OperationalError, match="locked"):
            with s.begin():  # a use case that writes waits its turn (here: fails at once)
                wallet.holder(s, "oReader")
    finally:
        writer.rollback()
        writer.close()


def test_a_write_waits_for_another_process_to_release_the_write_lock(tmp_path):
    url = f"sqlite:///{tmp_path / 'waits.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    writer = sqlite3.connect(tmp_path / "waits.db", isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO setting (key, value, updated_by, updated_at) "
                   "VALUES ('signup_points', '7', 'other', '2026-01-01')")
    release = threading.Timer(0.2, writer.commit)  # the other worker finishes its join
    release.start()
    try:
        with make_session_factory(engine)() as s, s.begin():
            joined = joining.join(s, "oPatient")  # waits for the lock, then sees the commit
        assert joined.signup_points == 7
    finally:
        release.join()
        writer.close()
        engine.dispose()


def test_a_write_inside_a_read_only_transaction_is_refused_and_the_next_write_works(sqlite_file):
    _, sessions, member_id = sqlite_file
    with sessions() as s:
        with pytest.raises(OperationalError, match="readonly"):
            with reading(s):
                s.execute(update(Member).where(Member.id == member_id).values(phone="1"))
        with s.begin():  # the same pooled connection, writing again
            s.execute(update(Member).where(Member.id == member_id).values(phone="2"))
        with reading(s):
            assert s.scalar(select(Member.phone).where(Member.id == member_id)) == "2"
