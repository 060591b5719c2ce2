"""The keys tills call /till/v1 with: one per till, for one store, shown once when issued,
kept only as a SHA-256 hash, revocable, with the time it was last used.

Why SHA-256 and not argon2 (as operators' passwords): a key is 32 random bytes (256 bits),
not something a person chose, so there is no dictionary to try and a fast hash leaks
nothing usable: finding a key from its hash is a 2^256 search however fast the hash is. A
slow hash would only cost every till call tens of milliseconds of CPU. The hash is also
the lookup: one indexed SELECT by `key_hash` finds the key, its store and whether either
is refused, and no secret is compared in Python (no timing to measure).

`last_used_at` is written at most once a minute per key (`touch`, a conditional UPDATE),
not on every call: a busy till would otherwise turn every read into a write.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.members import stores
from wx_member.models import Store, TillKey
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

TOKEN_PREFIX = "wxt_"  # says what the secret is, should one turn up in a log or a paste
SHOWN_CHARS = 12  # the key's first characters, kept to tell keys apart in lists
TOUCH_EVERY = timedelta(minutes=1)


class TillUnauthorized(DomainError):
    code = "TILL_UNAUTHORIZED"
    user_message = "收银台密钥无效，请检查收银系统中配置的密钥。"


class TillKeyRevoked(DomainError):
    code = "TILL_KEY_REVOKED"
    user_message = "该收银台密钥已被停用，请联系总部重新发放。"


class StoreClosed(DomainError):
    code = "STORE_CLOSED"
    user_message = "该门店已关闭，收银台不能使用会员服务。"


class WrongStore(DomainError):
    code = "TILL_WRONG_STORE"
    user_message = "该收银台密钥不属于此门店，不能代其他门店操作。"


class UnknownTillKey(DomainError):
    code = "TILL_KEY_NOT_FOUND"
    user_message = "没有这个收银台密钥。"


@dataclass(frozen=True)
class Issued:
    key: str  # the secret: shown once, never stored
    id: int
    prefix: str
    store_code: str
    label: str


@dataclass(frozen=True)
class Till:
    """Who is calling /till/v1: a valid key of an open store."""
    key_id: int
    store_id: int
    store_code: str
    store_name: str
    last_used_at: datetime | None

    def needs_touch(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= TOUCH_EVERY


@dataclass(frozen=True)
class KeyRow:
    id: int
    store_code: str
    label: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(uow: UnitOfWork, store_code: str, label: str = "", by: str = "cli",
          scope_store_id: int | None = None) -> Issued:
    """Use case: a new key for a till of an open store, audited (without the key). The
    answer holds the key itself: show it once; only its hash is kept. `scope_store_id`: a
    store-scoped operator's store (another store is not found)."""
    label = (label or "").strip()
    if len(label) > 40:
        raise stores.InvalidStore("label too long", user_message="收银台名称最多 40 个字符。")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow.write() as session:
        store = stores.require(session, store_code)
        if scope_store_id is not None and store.id != scope_store_id:
            raise stores.UnknownStore(f"store {store_code} outside the operator's scope")
        if store.status != "open":
            raise StoreClosed(f"store {store.code} is closed",
                              user_message="门店已关闭，不能发放收银台密钥。")
        row = TillKey(store_id=store.id, label=label, prefix=key[:SHOWN_CHARS],
                      key_hash=digest(key), created_at=utcnow(), created_by=by[:60])
        session.add(row)
        session.flush()
        audit.record(session, by, "till_key.issue", store.code, None,
                     {"key": row.id, "prefix": row.prefix, "label": label})
    return Issued(key, row.id, row.prefix, store.code, label)


def revoke(uow: UnitOfWork, key_id: int, by: str = "cli",
           scope_store_id: int | None = None) -> KeyRow:
    """Use case: refuse a key from now on, audited. Revoking twice changes nothing.
    `scope_store_id`: a store-scoped operator's store (another store's key is not found)."""
    with uow.write() as session:
        row = session.get(TillKey, key_id, with_for_update=True)
        if row is None or (scope_store_id is not None and row.store_id != scope_store_id):
            raise UnknownTillKey(f"no till key {key_id}")
        store = session.get(Store, row.store_id)
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = utcnow(), by[:60]
            audit.record(session, by, "till_key.revoke", store.code, None,
                         {"key": row.id, "prefix": row.prefix})
        return _row(row, store.code)


def _row(k: TillKey, code: str) -> KeyRow:
    return KeyRow(k.id, code, k.label, k.prefix, k.created_at, k.created_by, k.revoked_at,
                  k.last_used_at)


def keys(uow: UnitOfWork, store_code: str | None = None,
         store_id: int | None = None) -> list[KeyRow]:
    """Use case (a read): the keys of one store (by code or id) or of all, newest first."""
    with uow.read() as session:
        q = (select(TillKey, Store.code).join(Store, Store.id == TillKey.store_id)
             .order_by(TillKey.id.desc()))
        if store_code is not None:
            q = q.where(Store.id == stores.require(session, store_code).id)
        if store_id is not None:
            q = q.where(Store.id == store_id)
        return [_row(k, code) for k, code in session.execute(q)]


_BY_HASH = (select(TillKey.id, TillKey.revoked_at, TillKey.last_used_at, Store.id,
                   Store.code, Store.name, Store.status)
            .join(Store, Store.id == TillKey.store_id)
            .where(TillKey.key_hash == bindparam("hash")))  # built once: every till call's


def authenticate(uow: UnitOfWork, key: str) -> Till:
    """Use case (a read): the till a presented key belongs to. One indexed SELECT. Raises
    TillUnauthorized (unknown key), TillKeyRevoked or StoreClosed."""
    key = (key or "").strip()
    if not key.startswith(TOKEN_PREFIX) or len(key) > 100:
        raise TillUnauthorized("not a till key")
    with uow.read() as session:
        found = statements.rows(session, _BY_HASH, {"hash": digest(key)}).first()
    if found is None:
        raise TillUnauthorized("unknown till key")
    key_id, revoked_at, last_used_at, store_id, code, name, status = found
    if revoked_at is not None:
        raise TillKeyRevoked(f"till key {key_id} revoked")
    if status != "open":
        raise StoreClosed(f"store {code} is closed (till key {key_id})")
    return Till(key_id, store_id, code, name, last_used_at)


def touch(uow: UnitOfWork, till: Till, now: datetime | None = None) -> None:
    """Use case: note that `till`'s key was used, when it was last noted a minute or more
    ago (the caller asks `till.needs_touch` first, so most calls write nothing). Several
    workers racing write it once at most: the UPDATE is conditional."""
    # Whole seconds: MariaDB's DATETIME keeps none, SQLite would keep them, and the time
    # read back must be the time written on both.
    now = (now or utcnow()).replace(microsecond=0)
    with uow.write() as session:
        mark_used(session, till.key_id, now)


def mark_used(session: Session, key_id: int, now: datetime) -> None:
    session.execute(update(TillKey).where(
        TillKey.id == key_id,
        or_(TillKey.last_used_at.is_(None), TillKey.last_used_at <= now - TOUCH_EVERY))
        .values(last_used_at=now))


def check_store(till: Till, store_code: str | None) -> None:
    """A request that names a store must name the key's own: a key acts for its store only."""
    if store_code is not None and store_code.strip() != till.store_code:
        raise WrongStore(f"till key {till.key_id} of {till.store_code} named {store_code!r}")
