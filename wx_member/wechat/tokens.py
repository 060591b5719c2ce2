"""The access token, shared by every process through the database (wechatpy SessionStorage).

WeChat retires the previous token a few minutes after each fetch, so processes that each
fetched their own would keep invalidating each other. Here one process at a time fetches:
it takes `refreshing_until` on the token's row with a conditional UPDATE (a lease, so no
HTTP call runs inside a database transaction), fetches, stores the token and lets go; the
others poll the row until a new token appears. A process that died mid-fetch holds the
lease only until it expires.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from wechatpy.session import SessionStorage

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import TokenCache

log = logging.getLogger(__name__)

EARLY = timedelta(seconds=60)  # a token this close to expiry counts as expired
CACHE_SECONDS = 5.0  # the old token stays valid for minutes after a refresh: a cache is safe
LEASE = timedelta(seconds=30)
WAIT_SECONDS = 20.0


class TokenRefreshTimeout(Exception):
    pass


class DbTokenStorage(SessionStorage):
    """Each call is its own short unit of work (`write` or `read`), apart from any request's."""

    def __init__(self, sessions: sessionmaker[UnitOfWork]):
        self.sessions = sessions
        self.me = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._cache: dict[str, tuple[str, float]] = {}  # key → (value, monotonic read time)

    # -- SessionStorage -------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[1] < CACHE_SECONDS:
            return cached[0]
        with self.sessions() as uow, uow.read() as s:
            row = s.execute(select(TokenCache.value, TokenCache.expires_at)
                            .where(TokenCache.key == key)).first()
        if row is None or not row.value or (row.expires_at and row.expires_at - EARLY < utcnow()):
            self._cache.pop(key, None)
            return default
        self._cache[key] = (row.value, time.monotonic())
        return row.value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        now = utcnow()
        values = {"value": value, "fetched_at": now, "refreshing_until": None, "refresher": None,
                  "expires_at": now + timedelta(seconds=ttl) if ttl else None}
        self._ensure_row(key)
        with self.sessions() as uow, uow.write() as s:
            s.execute(update(TokenCache).where(TokenCache.key == key).values(**values))
        self._cache[key] = (value, time.monotonic())

    def delete(self, key: str) -> None:
        with self.sessions() as uow, uow.write() as s:
            s.execute(update(TokenCache).where(TokenCache.key == key)
                      .values(value=None, expires_at=None))
        self._cache.pop(key, None)

    # -- one refresher at a time ----------------------------------------------------------
    def refresh(self, key: str, fetch: Callable[[], Any], rejected: str | None = None) -> Any:
        """Fetch a new token unless another process already has: returns when a usable
        token other than `rejected` (the one WeChat just refused) is stored."""
        self._cache.pop(key, None)
        self._ensure_row(key)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            now = utcnow()
            with self.sessions() as uow, uow.write() as s:
                row = s.get(TokenCache, key)
                if (row.value and row.value != rejected
                        and (row.expires_at is None or row.expires_at - EARLY > now)):
                    # Someone else refreshed meanwhile. Cache it: a thread that read the
                    # old token just before may have put it back in the cache.
                    self._cache[key] = (row.value, time.monotonic())
                    return {"access_token": row.value}
                # The lease is taken only if the token is still the one seen above: on MySQL
                # (READ COMMITTED) the UPDATE reads the latest commit, so a refresh that ended
                # between the SELECT and here would otherwise free the lease for a second fetch.
                seen = (TokenCache.value.is_(None) if row.value is None
                        else TokenCache.value == row.value)
                took = s.execute(
                    update(TokenCache).where(TokenCache.key == key, seen, or_(
                        TokenCache.refreshing_until.is_(None), TokenCache.refreshing_until < now))
                    .values(refreshing_until=now + LEASE, refresher=self.me)
                    .execution_options(synchronize_session=False)).rowcount == 1
            if took:
                return self._fetch(key, fetch)
            if time.monotonic() > deadline:
                raise TokenRefreshTimeout(f"no new access token after {WAIT_SECONDS:.0f} s")
            time.sleep(0.05)

    def _fetch(self, key: str, fetch: Callable[[], Any]) -> Any:
        try:
            log.info("fetching a new access token for %s", key)
            return fetch()  # stores the token through set(), which ends the lease
        except BaseException:
            with self.sessions() as uow, uow.write() as s:
                s.execute(update(TokenCache).where(TokenCache.key == key,
                                                   TokenCache.refresher == self.me)
                          .values(refreshing_until=None, refresher=None))
            raise

    def _ensure_row(self, key: str) -> None:
        with self.sessions() as uow, uow.read() as s:
            if s.scalar(select(TokenCache.key).where(TokenCache.key == key)) is not None:
                return
        try:
            with self.sessions() as uow, uow.write() as s:
                s.execute(insert(TokenCache).values(key=key))
        except IntegrityError:
            pass  # another process made it
