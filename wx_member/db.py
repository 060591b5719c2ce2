"""Engine and session factory.

SQLite is the embedded default. Several gunicorn workers share one file, so every
connection uses WAL (readers never block the writer), waits for locks instead of failing
at once, and starts transactions with BEGIN IMMEDIATE: a transaction that reads and then
writes can otherwise deadlock against another one doing the same ("database is locked"
without waiting). MySQL/MariaDB get row locks from InnoDB and need none of this.
"""
from __future__ import annotations

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


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services return ORM objects that callers read after commit.
    return sessionmaker(bind=engine, expire_on_commit=False, autobegin=True)


# InnoDB deadlock (1213) and lock-wait timeout (1205): the server's advice is to "try
# restarting transaction". Racing inserts of one unique key are the usual cause here.
_RETRYABLE_MYSQL = {1205, 1213}


def is_retryable(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL
