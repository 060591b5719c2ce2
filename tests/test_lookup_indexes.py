"""Lookups that read only their own rows, on SQLite and MariaDB, through the statements the
code sends; each migration goes down and up again.

- A member's coupons (migration 0038, `ix_coupon_member_status_until`): the mini-program's
  我的优惠券 lists and every quote's usable coupons. Before it, SQLite answered
  `member_id = ? AND status = 'available' AND valid_until > ?` through the expiry job's
  (status, valid_until) index and walked every available coupon of the programme.
- A member's audit entries on the console's member page (migration 0040,
  `ix_audit_log_target_action`): the old index began with the action, and each member page
  walked the audit log back from its newest entry.
- A member's open WeChat Pay order from the last minute (migration 0041,
  `ix_jsapi_order_member_status_created`): SQLite read every open order of the programme
  from that minute through the reconciliation job's (status, created_at) index.

tests/test_query_plans.py walks every request path and checks all their statements on
SQLite."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event, insert

from wx_member import migrate
from wx_member.clock import utcnow
from wx_member.coupons import wallet, wallet_view
from wx_member.db import make_engine, make_session_factory
from wx_member.models import AuditLog, Coupon, CouponTemplate, JsapiOrder, Member, Store
from wx_member.payments import wxpay_orders
from wx_member.platform import audit

MEMBERS = 300  # each with two usable coupons and one used: 900 coupons


@pytest.fixture
def wallets(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Store).values(code="S01", name="静安店", status="open",
                                          created_at=now))
        template = conn.execute(insert(CouponTemplate).values(
            name="满30减5", kind="amount_off", min_spend_fen=3000, amount_off_fen=500,
            valid_days=30, active=True, created_at=now)).inserted_primary_key[0]
        conn.execute(insert(Member), [
            {"id": i, "openid": f"oIdx{i:05d}", "tier": "normal", "subscribed": True,
             "joined_at": now} for i in range(1, MEMBERS + 1)])
        conn.execute(insert(Coupon), [
            {"code": f"IDX{i:05d}{k}", "template_id": template, "member_id": i,
             "cause": f"idx:{i}:{k}", "status": "used" if k == 2 else "available",
             "issued_at": now - timedelta(days=1), "valid_from": now - timedelta(days=1),
             "valid_until": now + timedelta(days=10 + k)}
            for i in range(1, MEMBERS + 1) for k in range(3)])
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE coupon")
    yield db_url, engine, now
    engine.dispose()


def _index_used(conn, stmt, values: dict) -> str:
    """The index the database chooses for the coupon table in `stmt` with `values`."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params({k: (v.isoformat(" ") if hasattr(v, "isoformat") else v)
                                        for k, v in values.items()})
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup)
    if conn.dialect.name == "sqlite":
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.string, params).all()
        found = [r[-1] for r in plan if r[-1].startswith("SEARCH coupon ")]
        return found[0].split("USING INDEX ")[1].split(" ")[0] if found else "none"
    rows = conn.exec_driver_sql("EXPLAIN " + compiled.string, params).mappings().all()
    return next(r["key"] for r in rows if r["table"] == "coupon") or "none"


def test_a_members_usable_coupons_are_read_through_their_own_index(wallets):
    url, engine, now = wallets
    with engine.connect() as conn:
        store_id = conn.scalar(sa.select(Store.id))
        member = {"member": 7, "now": now, "rows": 21}
        assert _index_used(conn, wallet_view._LISTS["available", False], member) \
            == "ix_coupon_member_status_until"
        assert _index_used(conn, wallet._USABLE_IN, {**member, "store": store_id}) \
            == "ix_coupon_member_status_until"
        assert _index_used(conn, wallet_view._LISTS["used", False], member) \
            == "ix_coupon_member_status_until"
    with make_session_factory(engine)() as s, s.read():  # and they are the member's own
        held = wallet.usable_in(s, 7, now, store_id)
    assert [c.code for c, _ in held] == ["IDX000070", "IDX000071"]  # soonest to lapse first
    assert [t.name for _, t in held] == ["满30减5", "满30减5"]


def test_the_migration_goes_down_and_up(wallets):
    url, engine, now = wallets

    def indexes() -> set[str]:
        return _indexes(engine, "coupon")
    assert {"ix_coupon_member_status_until", "ix_coupon_status_until"} <= indexes()
    assert "ix_coupon_member_id" not in indexes()
    migrate.downgrade(url, "0037_wechat_untag")
    assert "ix_coupon_member_id" in indexes()
    assert "ix_coupon_member_status_until" not in indexes()
    if engine.dialect.name == "sqlite":  # the walk this migration ended
        with engine.connect() as conn:
            assert _index_used(conn, wallet_view._LISTS["available", False], {
                "member": 7, "now": now, "rows": 21}) == "ix_coupon_status_until"
    migrate.upgrade(url)
    assert "ix_coupon_member_status_until" in indexes()


def _explained(conn, sql: str, params, table: str = "audit_log") -> str:
    """The index the database chooses for `table` in `sql` (as sent, with `params`)."""
    if conn.dialect.name == "sqlite":
        plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
        found = [p for p in plan if p.startswith(f"SEARCH {table} ")]
        return found[0].split("USING INDEX ")[1].split(" ")[0] if found else "none"
    rows = conn.exec_driver_sql("EXPLAIN " + sql, params).mappings().all()
    return next(r["key"] for r in rows if r["table"] == table) or "none"


def _indexes(conn, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(conn).get_indexes(table)}


def _sent_while(engine, table: str, read) -> tuple[object, list]:
    """What `read(session)` answers, and the statements it sent that read `table`."""
    sent = []

    def grab(_conn, _cursor, statement, parameters, *_):
        if f"FROM {table}" in statement:
            sent.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", grab)
    try:
        with make_session_factory(engine)() as s, s.read():
            return read(s), sent
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def test_a_members_audit_entries_are_read_through_their_own_index(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # many operators' changes, three of them to one member
            conn.execute(insert(AuditLog), [
                {"actor": "ops", "action": "member.edit" if i % 2 else "setting.change",
                 "target": "880000000007" if i % 100 == 7 else f"t{i}", "before": None,
                 "after": {"n": i}} for i in range(300)])
            if engine.dialect.name == "mysql":
                conn.exec_driver_sql("ANALYZE TABLE audit_log")
        entries, sent = _sent_while(  # what the member page reads
            engine, "audit_log", lambda s: audit.entries(s, 20, target="880000000007"))
        assert [e.after["n"] for e in entries] == [207, 107, 7]  # newest first, the member's
        with engine.connect() as conn:
            assert _explained(conn, *sent[0]) == "ix_audit_log_target_action"
        migrate.downgrade(db_url, "0039_member_referrer_index")
        engine.dispose()  # new connections: none keeps a statement prepared on the old schema
        with engine.connect() as conn:
            indexes = _indexes(conn, "audit_log")
            assert "ix_audit_log_target" in indexes and "ix_audit_log_target_action" not in indexes
            if conn.dialect.name == "sqlite":  # the walk this migration ended
                assert _explained(conn, *sent[0]) == "none"
        migrate.upgrade(db_url)
        with engine.connect() as conn:
            assert "ix_audit_log_target_action" in _indexes(conn, "audit_log")
    finally:
        engine.dispose()


def test_a_members_second_tap_finds_their_open_order_through_their_own_index(db_url):
    """A recharge or a membership tapped twice within a minute returns the member's open
    order (migration 0041): found from the member's entries, not every open order of the
    last minute."""
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    now = utcnow()
    try:
        with engine.begin() as conn:  # 300 members each with a recharge open this minute
            conn.execute(insert(Member), [
                {"id": i, "openid": f"oTap{i:03d}", "tier": "normal", "subscribed": True,
                 "joined_at": now} for i in range(1, MEMBERS + 1)])
            conn.execute(insert(JsapiOrder), [
                {"out_trade_no": f"R{i:03d}{k}", "member_id": i, "appid": "wxmini",
                 "openid": f"mTap{i:03d}", "purpose": "recharge", "amount_fen": 10000 * (k + 1),
                 "bonus_fen": 0, "option_fen": 10000 * (k + 1), "description": "充值",
                 "attach": "recharge", "prepay_id": f"wx{i}{k}", "status": "created",
                 "created_at": now - timedelta(seconds=10 * k),
                 "expires_at": now + timedelta(hours=2)}
                for i in range(1, MEMBERS + 1) for k in range(2)])
            if engine.dialect.name == "mysql":
                conn.exec_driver_sql("ANALYZE TABLE jsapi_order")
        open_order, sent = _sent_while(engine, "jsapi_order", lambda s: wxpay_orders._reusable(
            s, 7, now, JsapiOrder.option_fen == 20000))
        assert open_order.out_trade_no == "R0071"  # the member's own, of that rung
        with engine.connect() as conn:
            assert _explained(conn, *sent[0], table="jsapi_order") \
                == "ix_jsapi_order_member_status_created"
        migrate.downgrade(db_url, "0040_audit_log_target_index")
        engine.dispose()  # new connections: none keeps a statement prepared on the old schema
        with engine.connect() as conn:
            indexes = _indexes(conn, "jsapi_order")
            assert "ix_jsapi_order_member_status" in indexes
            assert "ix_jsapi_order_member_status_created" not in indexes
            if conn.dialect.name == "sqlite":  # the walk this migration ended
                assert _explained(conn, *sent[0], table="jsapi_order") \
                    == "ix_jsapi_order_status_created"
        migrate.upgrade(db_url)
        with engine.connect() as conn:
            assert "ix_jsapi_order_member_status_created" in _indexes(conn, "jsapi_order")
    finally:
        engine.dispose()
