"""A read replica for reads that may be stale (WX_DATABASE_REPLICA_URL, docs/deploy.md).

Only a lag-tolerant read model asks for it, at its call site: `with uow.read(replica=True)`
(wx_member/db.py). Everything else (the webhook, payments, the till, the mini-program API,
any read that a write follows, the console's pages after an operator's change) reads the
primary, so nobody sees their own change missing.

The replica serves such a read only while it replicates (both replication threads running)
and its `Seconds_Behind_Master` is at most WX_REPLICA_MAX_LAG. That is asked of the replica
itself with SHOW REPLICA STATUS, at most once every CHECK_EVERY seconds per process: the
answer is cached, so a busy dashboard costs the replica one status query per interval. A
replica that is unreachable, stopped, lagging, or will not tell (its user lacks the
SLAVE MONITOR / REPLICATION CLIENT grant) is not used: the read goes to the primary and a
warning is logged once, when the replica stops being used, not on every read.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

log = logging.getLogger(__name__)

CHECK_EVERY = 5.0  # seconds between two status checks in one process
# Key of the session factory's info under which the replica is found (db.UnitOfWork.read),
# and of the session's info listing the lag of each read the replica served.
REPLICA = "wx_replica"
SERVED = "wx_replica_served"

_SYNTAX_ERROR, _NOT_PERMITTED = 1064, 1227  # MySQL/MariaDB error codes
GRANT_HINT = ("grant the replica's user SLAVE MONITOR (MariaDB 10.5.9 and later) or "
              "REPLICATION CLIENT (MySQL, older MariaDB)")


@dataclass(frozen=True)
class Health:
    usable: bool
    lag: int | None  # Seconds_Behind_Master when known
    why: str = ""  # why not usable, for the log


class Replica:
    """The replica's engine and whether it may serve a stale read now."""

    def __init__(self, engine: Engine, max_lag: int, *,
                 on_read: Callable[[str], None] | None = None,
                 check_every: float = CHECK_EVERY):
        self.engine = engine
        self.max_lag = max_lag
        self.check_every = check_every
        self.on_read = on_read  # told "replica" or "primary" for each stale read (metrics)
        self._lock = threading.Lock()
        self._health = Health(False, None, "not checked yet")
        self._checked_at: float | None = None
        self._in_use = True  # so that the first check that fails is logged

    def choose(self) -> tuple[Engine, int] | None:
        """The replica's engine and its lag when it may serve a stale read now; None: the
        primary serves it."""
        health = self.health()
        return (self.engine, health.lag or 0) if health.usable else None

    def health(self) -> Health:
        if not self._fresh():
            # One thread checks; the others wait for its answer (a connect timeout at most)
            # rather than each asking the replica too.
            with self._lock:
                if not self._fresh():
                    self._record(self._check())
        return self._health

    def forget(self) -> None:
        """The next read checks the replica again, whenever it was last checked."""
        with self._lock:
            self._checked_at = None

    def failed(self, exc: BaseException) -> None:
        """A read found the replica unreachable between two checks: the primary serves
        from now until the next check."""
        with self._lock:
            self._record(Health(False, None, f"unreachable: {_reason(exc)}"))

    def counted(self, server: str) -> None:
        if self.on_read is not None:
            self.on_read(server)

    def _fresh(self) -> bool:
        return (self._checked_at is not None
                and time.monotonic() - self._checked_at < self.check_every)

    def _record(self, health: Health) -> None:
        self._health, self._checked_at = health, time.monotonic()
        if self._in_use and not health.usable:
            log.warning("read replica %s not used, stale reads go to the primary: %s",
                        self.engine.url, health.why)
        elif health.usable and not self._in_use:
            log.warning("read replica %s in use again (lag %s s)", self.engine.url, health.lag)
        self._in_use = health.usable

    def _check(self) -> Health:
        try:
            with self.engine.connect() as conn:
                status = replica_status(conn)
        except DBAPIError as exc:
            if _code(exc) == _NOT_PERMITTED:
                return Health(False, None, f"replica status not permitted ({GRANT_HINT}): "
                                           f"{_reason(exc)}")
            return Health(False, None, f"unreachable: {_reason(exc)}")
        except SQLAlchemyError as exc:
            return Health(False, None, f"unreachable: {_reason(exc)}")
        except Exception as exc:  # whatever it is, the dashboard answers from the primary
            log.exception("read replica %s: status check failed", self.engine.url)
            return Health(False, None, f"status check failed: {exc!r}")
        if status is None:
            return Health(False, None, "not a replica (SHOW REPLICA STATUS is empty)")
        running = _running(status, "IO") and _running(status, "SQL")
        lag = status.get("Seconds_Behind_Master", status.get("Seconds_Behind_Source"))
        if not running or lag is None:
            return Health(False, None, "not replicating (a replication thread is stopped)")
        lag = int(lag)
        if lag > self.max_lag:
            return Health(False, lag, f"{lag} s behind, more than WX_REPLICA_MAX_LAG "
                                      f"({self.max_lag} s)")
        return Health(True, lag)


def replica_status(conn: Connection) -> dict | None:
    """The server's replication status, as SHOW REPLICA STATUS (MariaDB 10.5.1+, MySQL
    8.0.22+) or, on older servers, SHOW SLAVE STATUS gives it; None: not a replica."""
    try:
        row = conn.exec_driver_sql("SHOW REPLICA STATUS").mappings().first()
    except DBAPIError as exc:
        if _code(exc) != _SYNTAX_ERROR:
            raise
        conn.rollback()
        row = conn.exec_driver_sql("SHOW SLAVE STATUS").mappings().first()
    return dict(row) if row is not None else None


def served_lag(session) -> int | None:
    """The largest lag of the reads in `session` that the replica served (0 when it was
    up to date), None when the primary served them all: what the page tells operators."""
    served = session.info.get(SERVED)
    return max(served) if served else None


def _running(status: dict, thread: str) -> bool:
    # MariaDB and MySQL before 8.0.22 say Slave_IO_Running, later MySQL Replica_IO_Running.
    return status.get(f"Slave_{thread}_Running", status.get(f"Replica_{thread}_Running")) == "Yes"


def _code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0]
