"""The indexes of rows where a column is set (migrations 0032, 0033 and 0039,
`models.core.sparse_index`): on SQLite a join files no index entry for the unionid, phone,
name, referrer and order number it leaves empty, and the lookups by them still go through
the index. MariaDB keeps plain indexes (the referrer's is its foreign key's own): there
the migrations must simply go up and down."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.members import joining
from wx_member.models import Coupon, Member

SPARSE = {"ix_member_unionid": "member", "ix_member_phone": "member", "ix_member_name": "member",
          "ix_member_referrer_id": "member", "ix_coupon_order_no": "coupon"}
NEWER = ("ix_member_name", "ix_member_referrer_id")  # than migration 0032
SQLITE_ONLY = ("ix_member_referrer_id",)


def _entries(conn, index: str) -> int:
    """How many entries the index holds (SQLite's dbstat: the cells of its pages)."""
    return conn.exec_driver_sql(
        "SELECT coalesce(sum(ncell), 0) FROM dbstat WHERE name = ? AND pagetype = 'leaf'",
        (index,)).scalar()


def _plan(conn, stmt) -> str:
    sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}).string
    return " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


@pytest.fixture
def joined(tmp_path):
    """A migrated SQLite file where three people joined (one with a unionid), one of them
    gave a phone number and one was brought by the first."""
    url = f"sqlite:///{tmp_path / 'sparse.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s, s.write():
        members = [joining.join(s, f"oSparse{i}", unionid="uSparse" if i == 0 else None).member
                   for i in range(3)]
        members[1].phone = "13800001111"
        members[2].name, members[2].birthday = "张三", datetime(1990, 5, 1)
        members[2].referrer_id = members[0].id
    yield url, engine
    engine.dispose()


def test_a_join_files_no_index_entry_for_what_it_leaves_empty(joined):
    url, engine = joined
    with engine.connect() as conn:
        assert conn.scalar(select(sa.func.count()).select_from(Coupon)) == 3  # sign-up coupons
        assert {i: _entries(conn, i) for i in SPARSE} == {
            "ix_member_unionid": 1, "ix_member_phone": 1, "ix_member_name": 1,
            "ix_member_referrer_id": 1, "ix_coupon_order_no": 0}
    migrate.downgrade(url, "0031_expiry_index")  # the plain indexes: an entry for every row
    with engine.connect() as conn:
        assert {i: _entries(conn, i) for i in SPARSE if i not in NEWER} == {
            "ix_member_unionid": 3, "ix_member_phone": 3, "ix_coupon_order_no": 3}
    migrate.upgrade(url)
    with engine.connect() as conn:
        assert _entries(conn, "ix_member_phone") == 1


@pytest.mark.parametrize("index, stmt", [
    ("ix_member_phone", select(Member).where(Member.phone == "13800001111")),
    ("ix_member_phone", select(Member).where(Member.phone.in_(["13800001111", "13900002222"]),
                                             Member.erased_at.is_(None))),
    ("ix_member_unionid", select(Member).where(Member.unionid == "uSparse")),
    ("ix_member_name", select(Member).where(Member.name == "张三",  # members/duplicates_view.py
                                            Member.birthday == datetime(1990, 5, 1))),
    ("ix_coupon_order_no", select(Coupon).where(Coupon.order_no == "T1")),  # coupons/returns.py
    ("ix_member_referrer_id", select(Member).where(Member.referrer_id == 1)  # referral_codes.py
     .order_by(Member.id.desc()).limit(5)),
])
def test_lookups_by_a_set_column_still_use_its_index(joined, index, stmt):
    url, engine = joined
    with engine.connect() as conn:
        assert f"USING INDEX {index}" in _plan(conn, stmt)
        found = conn.execute(stmt).all()
    if index == "ix_member_phone":
        assert [m.openid for m in found] == ["oSparse1"]
    if index == "ix_member_referrer_id":
        assert [m.openid for m in found] == ["oSparse2"]


def test_the_migrations_go_down_and_up_on_every_database(db_url):
    migrate.upgrade(db_url)
    migrate.downgrade(db_url, "0031_expiry_index")
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        names = {(table, ix["name"]) for table in ("member", "coupon")
                 for ix in sa.inspect(engine).get_indexes(table)}
        expected = {(t, i) for i, t in SPARSE.items()
                    if engine.dialect.name == "sqlite" or i not in SQLITE_ONLY}
        assert expected <= names
    finally:
        engine.dispose()
