"""Two real `wx-member scheduler` processes on one database: one leads, the other stands
by; when the leader is killed, the standby takes over."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.platform import leases

BIN = Path(sys.executable).parent / "wx-member"


def start(db_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    return subprocess.Popen([str(BIN), "scheduler", "--ttl", "3", "--renew", "0.5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def holder_pid(engine) -> int | None:
    with make_session_factory(engine)() as s:
        holder, expires = leases.holder(s, "scheduler")
    return int(holder.split(":")[1]) if holder else None


def wait_for(predicate, seconds: float):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_standby_takes_over_when_the_leader_dies(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    procs = [start(db_url), start(db_url)]
    try:
        leader = wait_for(lambda: holder_pid(engine), 30)
        assert leader in {p.pid for p in procs}
        # The leader stores its jobs in the shared job store.
        expected = {"plan:holiday", "send_due", "prune_inbound_events"}

        def stored_jobs() -> set[str]:
            with engine.connect() as conn:
                return set(conn.execute(sa.text("SELECT id FROM apscheduler_jobs")).scalars())

        # Jobs are added one by one: wait for all of them, not for the first.
        jobs = wait_for(lambda: expected <= stored_jobs() and stored_jobs(), 20)
        assert expected <= jobs
        time.sleep(2)  # several renewals: the standby never takes a live leader's lease
        assert holder_pid(engine) == leader
        standby = next(p for p in procs if p.pid != leader)
        os.killpg(leader, signal.SIGKILL)
        took = wait_for(lambda: holder_pid(engine) == standby.pid, 15)
        assert took, "the standby did not take over"
        # A clean stop hands the lease back at once; the process then exits once the jobs
        # it had started have finished (on a loaded machine that took longer than 15 s).
        standby.send_signal(signal.SIGTERM)
        assert wait_for(lambda: holder_pid(engine) is None, 15), "the lease was not handed back"
        assert standby.wait(timeout=60) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        engine.dispose()


def test_lease_is_exclusive_and_expires(session):
    now = leases.utcnow()
    ttl = timedelta(seconds=30)
    assert leases.acquire(session, "scheduler", "a", ttl, now)
    assert not leases.acquire(session, "scheduler", "b", ttl, now + timedelta(seconds=10))
    assert leases.acquire(session, "scheduler", "a", ttl, now + timedelta(seconds=20))  # renew
    assert not leases.acquire(session, "scheduler", "b", ttl, now + timedelta(seconds=45))
    assert leases.acquire(session, "scheduler", "b", ttl, now + timedelta(seconds=51))
    assert not leases.acquire(session, "scheduler", "a", ttl, now + timedelta(seconds=52))
