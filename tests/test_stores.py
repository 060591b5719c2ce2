"""Stores (issue 13): creating, editing and closing one (audited), channel codes standing in
a store, a member's home store from the channel they joined through (changed by an
operator, audited), till keys (shown once, stored hashed, revocable, last use kept at most
once a minute), and the `wx-member stores` commands."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import member
from test_cli import BIN, run
from wx_member.clock import utcnow
from wx_member.members import channels, stores
from wx_member.models import AuditLog, Member, Store, TillKey
from wx_member.payments import till_keys


def audit_actions(live) -> list[tuple[str, str]]:
    with live.session() as s, s.read():
        return [(a.action, a.target) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_stores_are_created_edited_closed_and_audited(live):
    with live.session() as uow:
        stores.create(uow, "SH001", "人民广场店", "上海", "人民大道 1 号", by="ops:li")
        stores.edit(uow, "SH001", "ops:li", address="人民大道 2 号")
        stores.close(uow, "SH001", "ops:li")
        with pytest.raises(stores.StoreExists):
            stores.create(uow, "SH001", "重复")
        for code, name in (("bad code", "x"), ("", "x"), ("SH002", " ")):
            with pytest.raises(stores.InvalidStore):
                stores.create(uow, code, name)
        with pytest.raises(stores.UnknownStore):
            stores.close(uow, "NOPE")
        (row,) = stores.all_stores(uow)
    assert (row.code, row.address, row.status) == ("SH001", "人民大道 2 号", "closed")
    assert audit_actions(live) == [("store.create", "SH001"), ("store.edit", "SH001"),
                                   ("store.close", "SH001")]


def test_a_member_joining_through_a_store_code_gets_that_home_store(live, sim):
    with live.session() as uow:
        shop_id = stores.create(uow, "SH001", "人民广场店").id
        channels.create(uow, live.rt.gateway, scene="store_sh001", name="人民广场店桌牌",
                        kind="store", store="SH001")
        channels.create(uow, live.rt.gateway, scene="poster_x", name="海报", kind="poster")
        with pytest.raises(stores.UnknownStore):
            channels.create(uow, live.rt.gateway, scene="store_x", name="x", kind="store",
                            store="NOPE")
    sim.subscribe("oAlice", scene="store_sh001")
    sim.subscribe("oBob", scene="poster_x")
    sim.subscribe("oCarol")
    sim.subscribe("oBob", scene="store_sh001")  # an existing member scanning: not a join
    assert member(live, "oAlice").home_store_id == shop_id
    assert member(live, "oBob").home_store_id is None
    assert member(live, "oCarol").home_store_id is None
    with live.session() as uow:
        (row,) = stores.all_stores(uow)
    assert (row.members, row.channels) == (1, 1)


def test_an_operator_moves_a_member_to_another_home_store_audited(live, sim):
    sim.subscribe("oAlice")
    alice = member(live, "oAlice")
    with live.session() as uow:
        stores.create(uow, "SH001", "人民广场店")
        bj_id = stores.create(uow, "BJ001", "国贸店").id
        stores.set_home_store(uow, alice.id, "BJ001", by="ops:li")
        stores.set_home_store(uow, alice.id, "BJ001", by="ops:li")  # no change, no audit
        with pytest.raises(stores.UnknownStore):
            stores.set_home_store(uow, alice.id, "NOPE", by="ops:li")
    assert member(live, "oAlice").home_store_id == bj_id
    with live.session() as s, s.read():
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "member.home_store")).one()
    assert (entry.target, entry.before, entry.after) == (alice.card_no, {"store": None},
                                                        {"store": "BJ001"})


def test_till_keys_are_shown_once_stored_hashed_and_revocable(live):
    with live.session() as uow:
        stores.create(uow, "SH001", "人民广场店")
        issued = till_keys.issue(uow, "SH001", "1号收银台", by="ops:li")
        till = till_keys.authenticate(uow, issued.key)
        assert (till.store_code, till.key_id) == ("SH001", issued.id)
        with pytest.raises(till_keys.TillUnauthorized):
            till_keys.authenticate(uow, issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B"))
        till_keys.revoke(uow, issued.id, by="ops:li")
        with pytest.raises(till_keys.TillKeyRevoked):
            till_keys.authenticate(uow, issued.key)
        other = till_keys.issue(uow, "SH001")
        stores.close(uow, "SH001")
        with pytest.raises(till_keys.StoreClosed):
            till_keys.authenticate(uow, other.key)
        with pytest.raises(till_keys.StoreClosed):
            till_keys.issue(uow, "SH001")
    with live.session() as s, s.read():
        rows = list(s.scalars(select(TillKey).order_by(TillKey.id)))
        everything = repr([r.__dict__ for r in rows])
    assert rows[0].key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert issued.key not in everything and other.key not in everything  # only hashes
    assert rows[0].revoked_at is not None and rows[0].revoked_by == "ops:li"
    assert [a for a, _ in audit_actions(live)][1:3] == ["till_key.issue", "till_key.revoke"]


def test_last_use_is_written_at_most_once_a_minute(live):
    with live.session() as uow:
        stores.create(uow, "SH001", "人民广场店")
        issued = till_keys.issue(uow, "SH001")
        till = till_keys.authenticate(uow, issued.key)
        assert till.needs_touch(utcnow())
        t0 = utcnow()
        till_keys.touch(uow, till, t0)
        till = till_keys.authenticate(uow, issued.key)
        assert till.last_used_at == t0 and not till.needs_touch(t0 + timedelta(seconds=59))
        till_keys.touch(uow, till, t0 + timedelta(seconds=30))  # a racing worker: no write
        assert till_keys.authenticate(uow, issued.key).last_used_at == t0
        till_keys.touch(uow, till, t0 + timedelta(seconds=61))
        assert till_keys.authenticate(uow, issued.key).last_used_at == t0 + timedelta(seconds=61)


def test_stores_command_line(live, db_url, sim):
    assert run("stores", "create", "SH001", "人民广场店", "--city", "上海",
               db_url=db_url).returncode == 0
    out = run("stores", "create", "SH001", "again", db_url=db_url)
    assert out.returncode == 2 and "门店编号已存在" in out.stderr
    assert run("stores", "edit", "SH001", "--address", "人民大道 1 号",
               db_url=db_url).returncode == 0
    issued = run("stores", "key", "issue", "SH001", "--label", "1号收银台", db_url=db_url)
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1]
    with live.session() as uow:
        assert till_keys.authenticate(uow, key).store_code == "SH001"
    listed = json.loads(run("stores", "key", "list", "SH001", "--json", db_url=db_url).stdout)
    assert [(k["store"], k["label"], k["last_used_at"]) for k in listed] == [
        ("SH001", "1号收银台", "-")]
    assert key not in run("stores", "key", "list", db_url=db_url).stdout
    assert key[:12] in run("stores", "key", "list", db_url=db_url).stdout
    assert run("stores", "key", "revoke", str(listed[0]["id"]), db_url=db_url).returncode == 0
    with live.session() as uow, pytest.raises(till_keys.TillKeyRevoked):
        till_keys.authenticate(uow, key)
    sim.subscribe("oAlice")
    card = member(live, "oAlice").card_no
    assert run("stores", "home", card, "SH001", db_url=db_url).returncode == 0
    assert run("stores", "close", "SH001", db_url=db_url).returncode == 0
    (row,) = json.loads(run("stores", "list", "--json", db_url=db_url).stdout)
    assert (row["code"], row["status"], row["members"], row["address"]) == (
        "SH001", "closed", 1, "人民大道 1 号")
    with live.session() as s, s.read():
        assert s.scalar(select(Store.status)) == "closed"
        assert s.scalar(select(Member.home_store_id)) is not None


def run_stdin(text: str, *args, db_url):
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=60, input=text)


def test_create_admin_makes_a_store_account(live, db_url):
    run("stores", "create", "SH001", "人民广场店", db_url=db_url)
    out = run_stdin("correct horse battery\n", "create-admin", "sh_boss", "--role", "manager",
                    "--store", "SH001", "--password-stdin", db_url=db_url)
    assert out.returncode == 0, out.stderr
    out = run_stdin("correct horse battery\n", "create-admin", "no_store", "--role", "clerk",
                    "--password-stdin", db_url=db_url)
    assert out.returncode == 2 and "门店角色须指定所属门店" in out.stderr
