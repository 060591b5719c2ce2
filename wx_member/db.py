"""Engine and session factory.

SQLite is the embedded default. Several gunicorn workers share one file, so every
connection uses WAL (readers never block the writer), waits for locks instead of failing
at once, and starts transactions with BEGIN IMMEDIATE: a transaction that reads and then
writes can otherwise deadlock against another one doing the same ("database is locked"
without waiting). Use cases that only read say so (`UnitOfWork.read`) and start with a
plain BEGIN instead, beside the writers. MySQL/MariaDB get row locks from InnoDB and need
none of this.

Sessions never begin by themselves (no autobegin): a statement outside `write()` or
`read()` raises instead of silently opening a transaction that, on SQLite, would hold the
write lock until someone thought to end it.

Rows written around the ORM, inside a use case's transaction (`insert_row`, `loaded`,
`insert_ignoring_duplicates`), are wx_member/row_writes.py.
"""
from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from wx_member.replica import REPLICA, SERVED

if TYPE_CHECKING:
    from wx_member.replica import Replica


# Execution option for connections that never write (see _tune_sqlite and `UnitOfWork.read`).
READ_ONLY = "wx_read_only"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    if url.startswith("mysql") and "isolation_level" not in kwargs:
        # READ COMMITTED: a retry that lost the race for a unique key sees the winner's row.
        kwargs["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, **kwargs)
    if url.startswith("mysql"):
        _collate_as_the_database(engine)
    return engine


def _collate_as_the_database(engine: Engine) -> None:
    """The connection's collation is the database's (docs/deploy.md: utf8mb4_unicode_ci).
    The driver's utf8mb4 default is utf8mb4_general_ci, and a string the query makes itself
    (`'ledger:' + CAST(id AS CHAR)`) compared with a column would mix the two: MariaDB
    refuses with "Illegal mix of collations". Set after the dialect's own `SET NAMES`."""
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.close()


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Use cases that only read (`UnitOfWork.read`, readiness and metrics probes) take no write
        # lock: under WAL they read a snapshot beside a writer instead of queueing behind it,
        # and `query_only` has SQLite refuse any write among them, which a deferred
        # transaction could otherwise only begin by failing at random ("database is locked"
        # when another writer committed since its snapshot).
        read_only = bool(conn.get_execution_options().get(READ_ONLY, False))
        if conn.info.get(READ_ONLY, False) != read_only:  # the pooled connection's mode
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            conn.info[READ_ONLY] = read_only
        if read_only:
            conn.exec_driver_sql("BEGIN")
        else:
            _begin_immediate(conn)


# Waiting for the write lock: SQLite's busy handler sleeps 1, 2, 5, 10, 15 ms ... between
# tries, longer than a whole join holds the lock (about 1.5 ms): by the time a waiting
# worker wakes, the other has taken the lock again, and two workers ran no faster than one.
# So the first wait polls here, from 0.1 ms doubling to 2 ms, within the connection's
# busy_timeout; a try costs microseconds.
_POLL_FIRST, _POLL_MAX = 0.0001, 0.002


def _begin_immediate(conn) -> None:
    raw = conn.connection.driver_connection
    wait_ms = conn.info.get("busy_timeout_ms")
    if wait_ms is None:  # what the connect hooks set (30 s, or less in a test)
        wait_ms = conn.info["busy_timeout_ms"] = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    if not sqlite_begin_immediate(raw, wait_ms):
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last try, through SQLite's busy handler


def sqlite_begin_immediate(raw: sqlite3.Connection, wait_ms: int) -> bool:
    """`BEGIN IMMEDIATE` on a sqlite3 connection, polling for the write lock for up to
    `wait_ms`; False when it did not begin (the lock still held, or another error: the
    caller's last try reports it). bench/floor_app.py takes the lock the same way."""
    deadline, pause = time.monotonic() + wait_ms / 1000, _POLL_FIRST
    raw.execute("PRAGMA busy_timeout=0")  # a try fails at once instead of sleeping
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    return False  # not the lock
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)
        return False
    finally:
        raw.execute(f"PRAGMA busy_timeout={wait_ms}")


class UnitOfWork(Session):
    """A session whose transactions belong to use cases.

    A use case takes a `UnitOfWork` (its signature says so) and opens exactly one
    transaction, `with uow.write() as session:` or `with uow.read() as session:`; the rule
    functions it calls take that `Session` and never begin, commit or roll back. `write`
    commits when the block ends and rolls back if it raises; `read` takes no write lock
    (on SQLite a plain BEGIN beside the writers, under WAL, refusing any write). These two
    are the only places in the application that begin, commit or roll back (with
    `savepoint`, for a rule's insert that may lose a race).

    The session does not begin by itself: a statement outside `write` or `read` raises
    (sqlalchemy's "Autobegin is disabled"), and so does opening one inside the other: a
    use case that calls another use case inside its transaction fails loudly.
    """

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.begin():
            yield self

    # The engine that serves the current `read(replica=True)`, when the replica does.
    _stale_bind: Engine | None = None

    @contextmanager
    def read(self, *, replica: bool = False) -> Iterator[Session]:
        """`replica=True`: the caller accepts figures up to WX_REPLICA_MAX_LAG seconds old (a
        lag-tolerant read model, never a read a write follows); the read replica serves it
        when one is configured and keeping up (wx_member/replica.py), else the primary."""
        router = self.info.get(REPLICA) if replica else None
        chosen = router.choose() if router is not None else None
        try:
            transaction = self._begin_read(chosen[0] if chosen else None)
        except OperationalError as exc:
            if chosen is None:
                raise
            router.failed(exc)  # gone since its last check: the primary serves this read
            chosen, transaction = None, self._begin_read(None)
        if router is not None:
            router.counted("replica" if chosen else "primary")
            if chosen:
                self.info.setdefault(SERVED, []).append(chosen[1])
        try:
            with transaction:
                yield self
        finally:
            self._stale_bind = None

    def _begin_read(self, stale_bind: Engine | None) -> SessionTransaction:
        """A read transaction on the primary, or on `stale_bind` (the replica)."""
        self._stale_bind = stale_bind
        transaction = self.begin()
        try:
            self.connection(execution_options={READ_ONLY: True})
        except BaseException:
            transaction.rollback()
            self._stale_bind = None
            raise
        return transaction

    def get_bind(self, mapper=None, **kw):
        # Inside a replica read every statement goes to the replica, whatever its table.
        if self._stale_bind is not None:
            return self._stale_bind
        return super().get_bind(mapper, **kw)


def make_session_factory(engine: Engine, tz: ZoneInfo | None = None,
                         replica: "Replica | None" = None) -> sessionmaker[UnitOfWork]:
    # expire_on_commit=False: use cases return ORM objects that callers read after commit.
    # info["tz"]: the programme's zone, for rules deep in a use case that count local days
    # (a points lot's expiry) without every caller passing it; see `programme_tz`.
    # info[REPLICA]: the read replica, for `UnitOfWork.read(replica=True)`.
    info: dict = {"tz": tz} if tz else {}
    if replica is not None:
        info[REPLICA] = replica
    return sessionmaker(bind=engine, class_=UnitOfWork, expire_on_commit=False,
                        autobegin=False, info=info)


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    """A SAVEPOINT inside the caller's transaction: the block's writes are undone if it
    raises (a duplicate key), the transaction goes on. For rule functions, which never
    begin a transaction of their own."""
    with session.begin_nested():
        yield session


def programme_tz(session: Session) -> ZoneInfo:
    """The zone the session's factory was made with (build_runtime: `config.tz`), else the
    default programme zone."""
    from wx_member.config import Config

    return session.info.get("tz") or Config().tz


# InnoDB deadlock (1213) and lock-wait timeout (1205): the server's advice is to "try
# restarting transaction". Racing inserts of one unique key are the usual cause here.
_RETRYABLE_MYSQL = {1205, 1213}


def is_retryable(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL


T = TypeVar("T")
log = logging.getLogger(__name__)


def retrying(what: str, run: Callable[[], T], attempts: int = 5) -> T:
    """Run a use case (its own transaction) again from scratch after a deadlock or a lock
    wait timeout, up to `attempts` times, with a short random back-off."""
    for attempt in range(1, attempts + 1):
        try:
            return run()
        except Exception as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            log.info("%s: %s, retrying (%d)", what, getattr(exc, "orig", exc), attempt)
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")
