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
"""
from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Table, create_engine, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state

from wx_member import statements


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

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.begin():
            self.connection(execution_options={READ_ONLY: True})
            yield self


def make_session_factory(engine: Engine, tz: ZoneInfo | None = None) -> sessionmaker[UnitOfWork]:
    # expire_on_commit=False: use cases return ORM objects that callers read after commit.
    # info["tz"]: the programme's zone, for rules deep in a use case that count local days
    # (a points lot's expiry) without every caller passing it; see `programme_tz`.
    return sessionmaker(bind=engine, class_=UnitOfWork, expire_on_commit=False,
                        autobegin=False, info={"tz": tz} if tz else {})


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


def insert_ignoring_duplicates(session: Session, table, rows: list[dict]) -> None:
    """Insert `rows` in the caller's transaction; a row whose unique key already exists is
    left as it is (planning or issuing twice, in two processes or after a restart, adds
    nothing). One statement for all rows."""
    if not rows:
        return
    from sqlalchemy.dialects.mysql import insert as mysql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        stmt = mysql_insert(table)
        stmt = stmt.on_duplicate_key_update(id=stmt.table.c.id)  # a no-op, unlike IGNORE
    else:
        stmt = insert(table)
    session.execute(stmt, rows)


# -- hot-path writes without the unit of work ---------------------------------------------
# A Core INSERT built once per table and executed with a dict costs about a third of an
# ORM add() + flush(), which builds, sorts and compiles its statement every time. The join
# path writes its rows this way, and `loaded` turns a row it wrote into a persistent ORM
# object, so the rules that take ORM objects work unchanged.
O = TypeVar("O")
_INSERTS: dict[Table, tuple[Insert, dict, tuple]] = {}


def _insert_for(table: Table) -> tuple[Insert, dict, tuple]:
    """The table's INSERT, its columns' fixed defaults (in column order; None also stands
    for a callable default, computed per row) and its callable defaults."""
    found = _INSERTS.get(table)
    if found is None:
        fixed, computed = {}, []
        for col in table.columns:
            if col.primary_key:
                continue  # the database assigns it
            if col.default is None:
                if col.server_default is None:
                    fixed[col.key] = None  # NULL, as an INSERT without it would leave
                # else: the database fills it in; the attribute loads on first access
            elif col.default.is_callable:
                fixed[col.key] = None
                computed.append((col.key, col.default.arg))
            elif col.default.is_scalar:
                fixed[col.key] = col.default.arg
        found = _INSERTS[table] = (insert(table), fixed, tuple(computed))
    return found


def insert_row(session: Session, cls: type, **values) -> dict:
    """INSERT one row of `cls`'s table and return it as written, primary key included.
    Columns not given take their Python defaults, computed here, so the returned row is
    exactly the stored one. A Core statement: no autoflush of pending ORM changes."""
    table = cls.__table__
    stmt, fixed, computed = _insert_for(table)
    if not values.keys() <= fixed.keys():
        unknown = values.keys() - fixed.keys()
        raise TypeError(f"{cls.__name__} has no column(s) {', '.join(sorted(unknown))}")
    row = dict(fixed)
    row.update(values)  # the keys keep the columns' order: one compiled INSERT per set
    for key, make in computed:
        if key not in values:
            row[key] = make(None)
    pks = table.primary_key.columns
    if len(pks) == 1 and pks[0].autoincrement in (True, "auto"):  # the id is lastrowid
        row[next(iter(pks)).key] = statements.run(session, stmt, row, insert=True).lastrowid
        return row
    pk = session.execute(stmt, row).inserted_primary_key
    row.update((col.key, value) for col, value in zip(pks, pk))
    return row


def loaded(session: Session, cls: type[O], row: dict) -> O:
    """`row`, which this transaction wrote with Core statements, as a persistent object of
    `session` holding it as loaded state: no flush, no re-read (columns missing from `row`
    load on first access). Call it once the row is certain (after its savepoint): unlike
    a flushed object, it is not expunged if the writing savepoint rolls back."""
    # What `cls(**row)` then `make_transient_to_detached` do, without the constructor
    # setting each attribute as a change and the state then committing them all again
    # (two thirds of the cost, 15 columns for a member): the row goes straight into the
    # new object's dict as its loaded state.
    obj = cls._sa_class_manager.new_instance()
    state = instance_state(obj)
    state.mapper._check_configure()  # as the constructor would: a fresh worker's first object
    state.dict.update(row)
    state.key = state.mapper._identity_key_from_state(state)
    state._expire_attributes(state.dict, state.unloaded)  # the rest: loaded on first access
    # What session.add does for it, less its walk of the mapper's relationships for
    # objects to cascade to (a fresh row has none loaded: the walk found nothing, and was
    # a third of this function).
    session._save_or_update_impl(state)
    return obj
