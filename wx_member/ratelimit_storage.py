"""A `limits` storage in the app's database: without REDIS_URL the mini-program API's rate
limits count here, so every gunicorn worker and every host shares them.

A moving window, as limits' Redis and memory storages keep it: one row per limit and
client holds the times of its last `limit` hits, and a hit is allowed while fewer than
`limit` of them lie within the window. A hit is decided with its row locked (SELECT … FOR
UPDATE on MariaDB; SQLite's BEGIN IMMEDIATE holds the database's write lock), so
concurrent hits from any number of processes count exactly. Two first hits racing to
create a row meet at its primary key: the loser starts again and then finds the row.

Every call is its own short unit of work (`write`, or `read` for a look that changes
nothing) on the app's engine, apart from the request's session: a refused or failed
request does not roll its hit back, and SQLite's write lock is held for two statements.
Flask-Limiter checks a route's limits before the view opens
its use case's transaction; a check inside an open SQLite write transaction would wait for
that transaction's own lock.

Only the moving window is implemented (the API's strategy); the fixed-window calls raise.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from datetime import datetime

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from wx_member.clock import from_timestamp
from wx_member.db import make_session_factory, retrying
from wx_member.models import RateLimitCounter

KEY_LENGTH = 255  # RateLimitCounter.key
# A row keeps up to `limit` hits, 18 characters each, in a TEXT column (64 KiB on MariaDB).
MAX_LIMIT = 3000
_ROW_RACES = 3  # first hits racing to create one row: the loser retries and finds it


class DatabaseStorage(Storage, MovingWindowSupport):
    # Not reachable through a storage URI: it needs the app's engine (web/api/limits.py).
    STORAGE_SCHEME = None

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time,
                 wrap_exceptions: bool = False):
        super().__init__(wrap_exceptions=wrap_exceptions)
        self.engine = engine
        self.sessions = make_session_factory(engine)
        self.clock = clock  # Unix time, as limits' strategies compute reset times with

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    # -- moving window (MovingWindowSupport) ------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record `amount` hits now if the window has room for them; False (nothing
        recorded) if not."""
        if amount > limit:
            return False
        if limit > MAX_LIMIT:
            raise ValueError(f"the database storage keeps at most {MAX_LIMIT} hits per "
                             f"window ({limit} asked): use Redis (REDIS_URL)")
        key = row_key(key)
        return retrying("rate limit hit", lambda: self._acquire(key, limit, expiry, amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest hit in the window, hits in the window); (now, 0) if none."""
        with self.sessions() as uow, uow.read() as session:  # no write lock for a read
            hits = session.scalar(select(RateLimitCounter.hits)
                                  .where(RateLimitCounter.key == row_key(key)))
        now = self.clock()
        live = _in_window(hits, now, expiry)
        return (live[0], len(live)) if live else (now, 0)

    def _acquire(self, key: str, limit: int, expiry: int, amount: int) -> bool:
        for attempt in range(1, _ROW_RACES + 1):
            row = None
            try:
                with self.sessions() as uow, uow.write() as session:
                    row = session.execute(select(RateLimitCounter.hits)
                                          .where(RateLimitCounter.key == key)
                                          .with_for_update()).first()
                    now = self.clock()  # after the lock: hits are recorded in lock order
                    live = _in_window(row.hits if row else None, now, expiry)
                    if len(live) + amount > limit:
                        return False
                    kept = (live + [now] * amount)[-limit:]
                    values = {"hits": " ".join(f"{t:.6f}" for t in kept),
                              "expires_at": _utc(now + expiry)}
                    if row is None:
                        session.execute(insert(RateLimitCounter).values(key=key, **values))
                    else:
                        session.execute(update(RateLimitCounter)
                                        .where(RateLimitCounter.key == key).values(**values))
                    return True
            except IntegrityError:
                if row is not None or attempt == _ROW_RACES:
                    raise
        raise AssertionError("unreachable")

    # -- Storage -----------------------------------------------------------------------------
    def clear(self, key: str) -> None:
        with self.sessions() as uow, uow.write() as session:
            session.execute(delete(RateLimitCounter)
                            .where(RateLimitCounter.key == row_key(key)))

    def reset(self) -> int | None:
        """Forget every count; returns how many rows there were."""
        with self.sessions() as uow, uow.write() as session:
            count = session.scalar(select(func.count()).select_from(RateLimitCounter))
            session.execute(delete(RateLimitCounter))
        return int(count or 0)

    def check(self) -> bool:
        try:
            with self.sessions() as uow, uow.read() as session:
                session.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("DatabaseStorage supports the moving window only")

    def get(self, key: str) -> int:
        raise NotImplementedError("DatabaseStorage supports the moving window only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("DatabaseStorage supports the moving window only")


def row_key(key: str) -> str:
    """Flask-Limiter's key, shortened to the column's width by a digest when longer."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:KEY_LENGTH - len(digest) - 1]}#{digest}"


def _in_window(hits: str | None, now: float, expiry: int) -> list[float]:
    """The recorded hits still within the window ending now, oldest first (hosts' clocks
    may differ a little, so the order is not assumed)."""
    return sorted(t for t in map(float, (hits or "").split()) if t >= now - expiry)


def _utc(unix: float) -> datetime:
    """Naive UTC, rounded up to the second (MariaDB's DATETIME keeps no fraction): the row
    is never pruned while a hit in it still counts."""
    return from_timestamp(math.ceil(unix))
