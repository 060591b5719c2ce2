"""The access token, shared by every process and host through Redis (when `REDIS_URL` is
set); `DbTokenStorage` (wechat/tokens.py) does the same job in the database otherwise.

Same contract as `DbTokenStorage`: `get`/`set`/`delete` as wechatpy's SessionStorage, and
`refresh(key, fetch, rejected)`, which returns once a usable token other than `rejected` is
stored, with one process fetching at a time. WeChat retires the previous token a few
minutes after each fetch, so processes that fetched their own would keep invalidating each
other. The one-fetcher rule is a Redis lock (SET NX with an expiry, released only by its
owner: redis-py's `Lock`), so a process that dies mid-fetch blocks the others only until the
lock expires; the others poll the token key until a new value appears.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import LockError
from wechatpy.session.redisstorage import RedisStorage

from wx_member.wechat.tokens import EARLY, LEASE, WAIT_SECONDS, TokenRefreshTimeout

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05


class RedisTokenStorage(RedisStorage):
    def __init__(self, client: redis.Redis, prefix: str = "wx-member"):
        super().__init__(client, prefix=prefix)

    @classmethod
    def from_url(cls, url: str, prefix: str = "wx-member") -> RedisTokenStorage:
        # Short timeouts: a Redis that does not answer must not eat WeChat's 5-second budget.
        return cls(redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                        health_check_interval=30), prefix)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        # Expire the key EARLY before WeChat does, as DbTokenStorage treats a token that
        # close to expiry as gone: nobody is handed a token that dies mid-call.
        if ttl:
            ttl = max(1, int(ttl - EARLY.total_seconds())) if ttl > EARLY.total_seconds() else ttl
        super().set(key, value, ttl)

    # -- one refresher at a time ----------------------------------------------------------
    def refresh(self, key: str, fetch: Callable[[], Any], rejected: str | None = None) -> Any:
        """Fetch a new token unless another process already has: returns when a usable
        token other than `rejected` (the one WeChat just refused) is stored."""
        lock = self.redis.lock(self.key_name(f"lock:{key}"), timeout=LEASE.total_seconds(),
                               blocking=False)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            current = self.get(key)
            if current and current != rejected:
                return {"access_token": current}  # someone else refreshed meanwhile
            if lock.acquire():
                try:
                    # A refresh that ended between our read and our lock already did the work.
                    current = self.get(key)
                    if current and current != rejected:
                        return {"access_token": current}
                    log.info("fetching a new access token for %s", key)
                    return fetch()  # stores the token through set()
                finally:
                    try:
                        lock.release()
                    except LockError:  # it expired while we fetched; someone may hold it now
                        log.warning("access token lock for %s expired during the fetch", key)
            if time.monotonic() > deadline:
                raise TokenRefreshTimeout(f"no new access token after {WAIT_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)
