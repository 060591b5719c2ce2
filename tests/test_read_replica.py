"""The read replica (WX_DATABASE_REPLICA_URL): the dashboard's figures come from it while it
replicates within WX_REPLICA_MAX_LAG, everything else from the primary, and a replica that is
stopped, unreachable or will not say how far behind it is leaves the dashboard on the
primary with one warning.

A real pair of private MariaDB servers (scripts/mariadb, GTID replication), started once for
the module (tests/replica_helpers.py).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import make_config, serve
from console_helpers import console, logged_in  # noqa: F401
from helpers import member
from replica_helpers import BLIND, READER, SCRIPT, database, free_port, pair  # noqa: F401
from till_helpers import Till, issue_key, open_store
from wx_member.clock import utcnow
from wx_member.config import Config
from wx_member.db import make_engine, make_session_factory
from wx_member.members.membership import card_number
from wx_member.models import Member

NOT_USED = "not used, stale reads go to the primary"


def console_app(pair, database, sandbox, replica_user=READER, replica_port=None):
    return serve(make_config(
        pair.url(pair.primary_port, database), sandbox, secret_key=secrets.token_hex(32),
        cookie_secure=False, database_replica_url=pair.url(
            replica_port or pair.replica_port, database, replica_user)))


@pytest.fixture
def live(pair, database, sandbox):
    """The console app, its replica read through the read-only user."""
    yield from console_app(pair, database, sandbox)


def members_total(page: str) -> int:
    m = re.search(r'<div class="k">会员总数</div><div class="v">(\d+)</div>', page)
    assert m, "no 会员总数 on the dashboard"
    return int(m.group(1))


def replica_note(page: str) -> str | None:
    m = re.search(r'<p class="note" id="replica-note">([^<]*)</p>', page)
    return m.group(1) if m else None


def add_replica_only_member(pair, database, member_id: int = 900001) -> str:
    """A member written on the replica alone (it is not read-only for the test): whoever
    counts it read the replica. A high id, so the primary never replicates a row onto it."""
    engine = make_engine(pair.url(pair.replica_port, database))
    try:
        with make_session_factory(engine)() as uow, uow.write() as s:
            s.add(Member(id=member_id, openid=f"oReplicaOnly{member_id}",
                         card_no=card_number(member_id), joined_at=utcnow() - timedelta(days=1)))
    finally:
        engine.dispose()
    return card_number(member_id)


def replica_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "wx_member.replica" and NOT_USED in r.getMessage()]


def test_the_dashboard_counts_the_replica_the_member_pages_and_till_the_primary(
        pair, database, live):
    live.simulator().subscribe("oAnna")
    anna = member(live, "oAnna")
    pair.caught_up()
    ghost = add_replica_only_member(pair, database)
    browser = logged_in(live, "boss", "admin")

    dashboard = browser.get("/admin/").text
    assert members_total(dashboard) == 2  # Anna and the row only the replica has
    assert replica_note(dashboard).startswith("数据来自只读副本")

    assert anna.card_no in browser.get(f"/admin/members?q={anna.card_no}").text
    assert "oReplicaOnly" not in browser.get(f"/admin/members?q={ghost}").text
    assert browser.get("/admin/members/900001").status_code == 404
    open_store(live, "SH001")
    till = Till(live, issue_key(live, "SH001").key)
    assert till.identify(card_no=anna.card_no).status_code == 200
    assert till.identify(card_no=ghost).status_code == 404


def test_a_member_who_joins_shows_on_the_dashboard_once_the_replica_caught_up(pair, live):
    browser = logged_in(live, "boss", "admin")
    assert members_total(browser.get("/admin/").text) == 0
    before = _replica_reads(browser)

    assert live.simulator().subscribe("oBen").status == 200  # the webhook: the primary
    pair.caught_up()
    dashboard = browser.get("/admin/").text
    assert members_total(dashboard) == 1
    assert replica_note(dashboard) is not None
    after = _replica_reads(browser)
    assert after["replica"] > before["replica"]  # /metrics says who served


def _replica_reads(browser) -> dict[str, float]:
    text = browser.http.get(browser.base + "/metrics").text
    found = dict.fromkeys(("replica", "primary"), 0.0)
    for server, value in re.findall(
            r'^wx_member_replica_reads_total\{server="(\w+)"\} ([0-9.e+]+)$', text, re.M):
        found[server] = float(value)
    return found


def test_a_stopped_replica_leaves_the_dashboard_on_the_primary_with_one_warning(
        pair, database, live, caplog):
    caplog.set_level(logging.WARNING, logger="wx_member.replica")
    live.simulator().subscribe("oCara")
    pair.caught_up()
    add_replica_only_member(pair, database)
    browser = logged_in(live, "boss", "admin")
    assert members_total(browser.get("/admin/").text) == 2  # the replica serves
    pair.on_replica("STOP SLAVE")
    try:
        live.rt.replica.forget()  # the next read checks again, whatever the interval
        for _ in range(2):
            page = browser.get("/admin/")
            assert page.status_code == 200
            assert members_total(page.text) == 1  # the primary's count
            assert replica_note(page.text) is None
            live.rt.replica.forget()
        assert len(warnings := replica_warnings(caplog)) == 1, warnings
        assert "not replicating" in warnings[0]
    finally:
        pair.on_replica("START SLAVE")
    pair.replicating()
    pair.caught_up()
    live.rt.replica.forget()
    assert replica_note(browser.get("/admin/").text) is not None  # in use again


def test_a_replica_further_behind_than_the_max_lag_is_not_used(pair, database, live, caplog):
    """A delayed replica (MASTER_DELAY) holding a member written, by its binary log's clock,
    an hour ago: an hour behind, beyond the 30 s allowed."""
    caplog.set_level(logging.WARNING, logger="wx_member.replica")
    browser = logged_in(live, "boss", "admin")
    for sql in ("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=7200", "START SLAVE"):
        pair.on_replica(sql)
    try:
        engine = make_engine(pair.url(pair.primary_port, database))
        with make_session_factory(engine)() as uow, uow.write() as s:
            s.execute(sa.text("SET TIMESTAMP = UNIX_TIMESTAMP() - 3600"))
            s.add(Member(openid="oAnHourAgo", card_no=card_number(42),
                         joined_at=utcnow() - timedelta(days=1)))
        engine.dispose()
        lag = pair.held_back()
        assert lag >= 3600
        live.rt.replica.forget()
        page = browser.get("/admin/").text
        assert members_total(page) == 1 and replica_note(page) is None  # the primary's
        assert "behind, more than WX_REPLICA_MAX_LAG (30 s)" in replica_warnings(caplog)[0]

        live.rt.replica.max_lag = 7200  # as WX_REPLICA_MAX_LAG=7200 would: it may serve
        live.rt.replica.forget()
        page = browser.get("/admin/").text
        assert members_total(page) == 0  # the replica's, an hour stale
        shown = int(re.search(r"延迟约 (\d+) 秒", replica_note(page)).group(1))
        assert shown >= 3600
    finally:
        for sql in ("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY=0", "START SLAVE"):
            pair.on_replica(sql)
    pair.replicating()
    pair.caught_up()


@pytest.mark.parametrize("why", ["unreachable", "not permitted"])
def test_an_unreachable_or_unpermitted_replica_leaves_the_dashboard_on_the_primary(
        pair, database, sandbox, caplog, why):
    caplog.set_level(logging.WARNING, logger="wx_member.replica")
    app = (console_app(pair, database, sandbox, replica_port=free_port())
           if why == "unreachable" else console_app(pair, database, sandbox, replica_user=BLIND))
    for live in app:
        live.simulator().subscribe("oDan")
        browser = logged_in(live, "boss", "admin")
        for _ in range(2):
            page = browser.get("/admin/")
            assert page.status_code == 200 and members_total(page.text) == 1
            assert replica_note(page.text) is None
            live.rt.replica.forget()
        assert len(warnings := replica_warnings(caplog)) == 1, warnings
        if why == "not permitted":
            assert "SLAVE MONITOR" in warnings[0]


def test_writes_and_other_reads_go_to_the_primary(pair, database, live):
    """Each transaction says which server it ran on; the app's replica user may only
    SELECT, so a write sent there would fail, and the app's writes all succeed."""
    def served_by(transaction) -> int:
        with live.session() as uow, transaction(uow) as s:
            return s.scalar(sa.text("SELECT @@port"))

    assert served_by(lambda uow: uow.read(replica=True)) == pair.replica_port
    assert served_by(lambda uow: uow.read()) == pair.primary_port
    assert served_by(lambda uow: uow.write()) == pair.primary_port
    with pytest.raises(sa.exc.DBAPIError, match="denied"):
        with live.session() as uow, uow.read(replica=True) as s:
            s.execute(sa.text("UPDATE member SET name = 'x'"))
    browser = logged_in(live, "boss", "admin")  # an operator written, a login audited
    live.simulator().subscribe("oEve")
    eve = member(live, "oEve")
    page = browser.get(f"/admin/members/{eve.id}").text
    key = page.split('name="key" type="hidden" value="')[1].split('"')[0]
    res = browser.post(f"/admin/members/{eve.id}/points",
                       {"delta": "5", "note": "测试", "key": key})
    assert res.status_code == 302
    assert "积分已调整" in browser.get(f"/admin/members/{eve.id}").text
    assert browser.get("/admin/").status_code == 200  # replica reads beside it
    with pair.primary.connect() as conn:
        assert conn.exec_driver_sql(
            f"SELECT points_balance FROM {database}.member WHERE id = {eve.id}").scalar() == 15


def test_without_a_replica_every_figure_comes_from_the_primary_as_before(console):
    console.simulator().subscribe("oFay")
    assert console.rt.replica is None
    page = logged_in(console, "boss", "admin").get("/admin/").text
    assert members_total(page) == 1 and replica_note(page) is None


def test_replica_settings_are_checked_at_start_up(monkeypatch, tmp_path):
    mysql = "mysql+pymysql://u:p@127.0.0.1:3306/wx_member?charset=utf8mb4"
    cases = [
        ({"DATABASE_URL": mysql, "WX_DATABASE_REPLICA_URL": f"sqlite:///{tmp_path}/r.db"},
         "WX_DATABASE_REPLICA_URL must be a MySQL/MariaDB URL"),
        ({"DATABASE_URL": f"sqlite:///{tmp_path}/p.db", "WX_DATABASE_REPLICA_URL": mysql},
         "a replica needs a MySQL/MariaDB primary"),
        ({"DATABASE_URL": mysql, "WX_REPLICA_MAX_LAG": "half a minute"},
         "WX_REPLICA_MAX_LAG must be a whole number"),
    ]
    for env, message in cases:
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            with pytest.raises(ValueError, match=message):
                Config.from_env(dotenv=False)
    # The CLI says it in one line, before it connects anywhere.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
           "WX_DATABASE_REPLICA_URL": mysql, "PYTHONPATH": str(SCRIPT.parent.parent)}
    out = subprocess.run([sys.executable, "-m", "wx_member.cli", "settings", "show"], env=env,
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode != 0 and "a replica needs a MySQL/MariaDB primary" in out.stderr
