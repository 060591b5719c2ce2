"""A real primary and replica pair of private MariaDB servers (scripts/mariadb, GTID
replication) for tests/test_read_replica.py: started once per module on free ports, each test
with a database of its own, created on the primary and replicated."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import MARIADB_URL, REQUIRE_MARIADB
from wx_member import migrate

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "mariadb"
READER, BLIND = ("wx_reader", "reader-pw"), ("wx_blind", "blind-pw")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Pair:
    primary_port: int
    replica_port: int
    primary: sa.Engine  # administrators of each server (the suite's wx user), autocommit
    replica: sa.Engine

    def url(self, port: int, database: str, user: tuple[str, str] = ("wx", "wx")) -> str:
        return (f"mysql+pymysql://{user[0]}:{user[1]}@127.0.0.1:{port}/{database}"
                "?charset=utf8mb4")

    def caught_up(self) -> None:
        """Waits until the replica has applied everything the primary has written so far."""
        with self.primary.connect() as p, self.replica.connect() as r:
            pos = p.exec_driver_sql("SELECT @@gtid_binlog_pos").scalar()
            waited = r.execute(sa.text("SELECT MASTER_GTID_WAIT(:pos, 60)"), {"pos": pos})
            assert waited.scalar() == 0, "the replica did not catch up within 60 s"

    def replicating(self) -> None:
        """Waits until both replication threads run again (after START SLAVE the IO thread
        says `Connecting` for a moment, and the lag guard rightly refuses the replica)."""
        for _ in range(600):
            with self.replica.connect() as r:
                status = r.exec_driver_sql("SHOW REPLICA STATUS").mappings().one()
            if status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes":
                return
            time.sleep(0.1)
        raise AssertionError(f"replication did not start again: {dict(status)}")

    def held_back(self) -> int:
        """Waits until the replica has received everything the primary wrote (though a
        MASTER_DELAY may keep it from applying it); its Seconds_Behind_Master then."""
        with self.primary.connect() as p:
            pos = p.exec_driver_sql("SELECT @@gtid_binlog_pos").scalar()
        for _ in range(600):
            with self.replica.connect() as r:
                status = r.exec_driver_sql("SHOW REPLICA STATUS").mappings().one()
            if status["Gtid_IO_Pos"] == pos and status["Seconds_Behind_Master"] is not None:
                return int(status["Seconds_Behind_Master"])
            time.sleep(0.1)
        raise AssertionError(f"the replica did not receive {pos}: {dict(status)}")

    def on_replica(self, sql: str) -> None:
        with self.replica.connect() as r:
            r.exec_driver_sql(sql)


def _server(directory: Path, port: int, args: str, *command: str) -> None:
    env = {**os.environ, "WX_MARIADB_DIR": str(directory), "WX_MARIADB_PORT": str(port),
           "WX_MARIADB_ARGS": args}
    done = subprocess.run([str(SCRIPT), *command], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A primary (binary log, server id 1) and its replica (server id 2) on free ports, with
    a read-only user for the app (SELECT and SLAVE MONITOR) and one without the grant to see
    the replica's status."""
    if not MARIADB_URL:  # where the suite's other MariaDB tests are skipped
        if REQUIRE_MARIADB:
            pytest.fail("WX_MEMBER_REQUIRE_MARIADB=1 but WX_MEMBER_TEST_MARIADB_URL is not set")
        pytest.skip("MariaDB not configured (run scripts/test)")
    base = tmp_path_factory.mktemp("replica")
    ports = free_port(), free_port()
    dirs = base / "p", base / "r"
    started, engines = [], []
    try:
        _server(dirs[0], ports[0], "--log-bin --server-id=1 --binlog-format=ROW", "start")
        started.append(0)
        _server(dirs[1], ports[1], "--server-id=2", "start")
        started.append(1)
        _server(dirs[1], ports[1], "", "replicate", str(ports[0]))
        engines += [sa.create_engine(f"mysql+pymysql://wx:wx@127.0.0.1:{p}/?charset=utf8mb4",
                                     isolation_level="AUTOCOMMIT") for p in ports]
        found = Pair(ports[0], ports[1], *engines)
        for (user, password), grants in ((READER, "SELECT, SLAVE MONITOR"), (BLIND, "SELECT")):
            found.on_replica(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'")
            found.on_replica(f"GRANT {grants} ON *.* TO '{user}'@'127.0.0.1'")
        yield found
    finally:
        for engine in engines:
            engine.dispose()
        for i in reversed(started):
            _server(dirs[i], ports[i], "", "stop")


@pytest.fixture
def database(pair):
    """A fresh database with this code's schema, on the primary and (caught up) the replica."""
    name = f"wxm_test_{uuid.uuid4().hex[:12]}"
    with pair.primary.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                             "COLLATE utf8mb4_unicode_ci")
    migrate.upgrade(pair.url(pair.primary_port, name))
    pair.caught_up()
    yield name
    with pair.primary.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
