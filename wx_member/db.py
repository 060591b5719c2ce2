"""Engine and session factory.

SQLite is the embedded default. Several gunicorn workers share one file, so every
connection uses WAL (readers never block the writer), waits for locks instead of failing
at once, and starts transactions with BEGIN IMMEDIATE: a transaction that reads and then
writes can otherwise deadlock against another one doing the same ("database is locked"
without waiting). MySQL/MariaDB get row locks from InnoDB and need none of this.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


# Execution option for connections that never write (see _tune_sqlite).
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
    return create_engine(url, **kwargs)


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
        # Probes that only read (readiness, metrics) take no write lock: under WAL they run
        # beside a writer instead of queueing behind it past the load balancer's timeout.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, tz: ZoneInfo | None = None) -> sessionmaker[Session]:
    # expire_on_commit=False: services return ORM objects that callers read after commit.
    # info["tz"]: the programme's zone, for rules deep in a use case that count local days
    # (a points lot's expiry) without every caller passing it; see `programme_tz`.
    return sessionmaker(bind=engine, expire_on_commit=False, autobegin=True,
                        info={"tz": tz} if tz else {})


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
    from sqlalchemy import insert
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
