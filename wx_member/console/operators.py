"""Console accounts: argon2id password hashes, roles, and a login rate limit kept in the
database (so it holds across gunicorn workers and hosts).

A login reads the account and the recent failures in one short transaction, verifies the
password outside any transaction (argon2 takes tens of milliseconds and, on SQLite, an
open transaction holds the write lock), then records the attempt.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import LoginAttempt, Operator
from wx_member.members import stores
from wx_member.models.console import ROLES, STORE_ROLES
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5  # then the account refuses logins for the rest of the window
MAX_FAILURES_PER_IP = 20  # one address trying many usernames
MIN_PASSWORD = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified for unknown usernames, so a login takes as long whether the account exists or not.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class LoginRefused(DomainError):
    code = "LOGIN_REFUSED"
    user_message = "用户名或密码错误。"


class LoginThrottled(DomainError):
    code = "LOGIN_THROTTLED"
    user_message = "登录失败次数过多，请 15 分钟后再试。"


class InvalidOperator(DomainError):
    code = "INVALID_OPERATOR"
    user_message = "账号信息无效。"


def role_at_least(role: str, needed: str) -> bool:
    """A store role counts as the HQ role it mirrors (STORE_ROLES); what it may reach is
    narrowed to its store elsewhere (the console's guard and the scoped queries)."""
    role = STORE_ROLES.get(role, role)
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _store_for(session: Session, role: str, store_code: str | None) -> int | None:
    """The store a role needs: one for a store role, none for an HQ role."""
    if role in STORE_ROLES:
        if not store_code:
            raise InvalidOperator("store role without a store",
                                  user_message="门店角色须指定所属门店。")
        return stores.require(session, store_code).id
    if store_code:
        raise InvalidOperator("HQ role with a store",
                              user_message="总部角色不属于任何门店，请选择门店角色。")
    return None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidOperator("password too short",
                              user_message=f"密码至少 {MIN_PASSWORD} 个字符。")


def create(uow: UnitOfWork, username: str, password: str, role: str, by: str,
           store: str | None = None) -> Operator:
    """Use case: an admin (or `wx-member create-admin`) adds an account; a store role
    (clerk, manager) names its store by code."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise InvalidOperator(f"bad username {username!r}",
                              user_message="用户名须为 3-40 个字母、数字、'_'、'.' 或 '-'。")
    if role not in ROLES and role not in STORE_ROLES:
        raise InvalidOperator(f"bad role {role!r}", user_message="角色无效。")
    _check_password(password)
    hashed = _hasher.hash(password)
    with uow.write() as session:
        if session.scalar(select(Operator.id).where(Operator.username == username)):
            raise InvalidOperator(f"{username} exists", user_message="用户名已存在。")
        store_id = _store_for(session, role, store)
        op = Operator(username=username, password_hash=hashed, role=role, active=True,
                      generation=1, created_at=utcnow(), store_id=store_id)
        session.add(op)
        audit.record(session, by, "operator.create", username, None,
                     {"role": role, "store": store} if store_id else {"role": role})
    return op


def count(uow: UnitOfWork) -> int:
    """Use case (a read): how many accounts there are."""
    with uow.read() as session:
        return int(session.scalar(select(func.count()).select_from(Operator)))


def all_operators(uow: UnitOfWork) -> list[Operator]:
    """Use case (a read): every account."""
    with uow.read() as session:
        return list(session.scalars(select(Operator).order_by(Operator.id)))


def current(uow: UnitOfWork, operator_id: int, generation: int) -> Operator | None:
    """Use case (a read): the operator a session cookie names, if still active and of the
    same generation. Its own short transaction: the request's use case then starts on a
    clean session. Returned detached, so it stays readable for the whole request even
    after a later use case of the request rolls back (a rollback expires every object
    still in the session)."""
    with uow.read() as session:
        op = session.get(Operator, operator_id)
        if op is not None:
            session.expunge(op)
    if op is None or not op.active or op.generation != generation:
        return None
    return op


def _failures(session: Session, column, value: str, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.ok.is_(False), LoginAttempt.at >= since)))


def authenticate(uow: UnitOfWork, username: str, password: str, ip: str,
                 now: datetime | None = None) -> Operator:
    """Use case: a login. Raises LoginThrottled or LoginRefused; records every attempt
    that was checked. A read, the password check outside any transaction, then a write."""
    now = now or utcnow()
    username = username.strip()[:40]
    with uow.read() as session:
        since = now - WINDOW
        if (_failures(session, LoginAttempt.username, username, since) >= MAX_FAILURES_PER_USER
                or _failures(session, LoginAttempt.ip, ip, since) >= MAX_FAILURES_PER_IP):
            raise LoginThrottled(f"too many failures for {username!r} or {ip}")
        op = session.scalar(select(Operator).where(Operator.username == username))
        stored = op.password_hash if op is not None and op.active else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password) and op is not None and op.active
    except (VerificationError, InvalidHashError):
        ok = False
    with uow.write() as session:
        session.add(LoginAttempt(username=username, ip=ip[:45], ok=ok, at=now))
        if ok:
            op = session.get(Operator, op.id)
            op.last_login_at = now
            if _hasher.check_needs_rehash(op.password_hash):
                op.password_hash = _hasher.hash(password)
    if not ok:
        raise LoginRefused(f"login refused for {username!r}")
    return op


def update(uow: UnitOfWork, operator_id: int, by: str, *, role: str | None = None,
           active: bool | None = None, password: str | None = None,
           store: str | None = None) -> Operator:
    """Use case: an admin changes an account's role (with its store, for a store role),
    status or password. Every session of that account ends (its generation moves on). The
    last active admin stays an admin."""
    if role is not None and role not in ROLES and role not in STORE_ROLES:
        raise InvalidOperator(f"bad role {role!r}", user_message="角色无效。")
    if password is not None:
        _check_password(password)
    hashed = _hasher.hash(password) if password is not None else None
    with uow.write() as session:
        op = session.get(Operator, operator_id, with_for_update=True)
        if op is None:
            raise InvalidOperator(f"no operator {operator_id}", user_message="账号不存在。")
        before = {"role": op.role, "active": op.active, "store_id": op.store_id}
        if op.role == "admin" and op.active and (role not in (None, "admin") or active is False):
            admins = session.scalar(select(func.count()).select_from(Operator).where(
                Operator.role == "admin", Operator.active.is_(True)))
            if admins <= 1:
                raise InvalidOperator("last admin", user_message="至少保留一个启用的管理员。")
        if role is not None:
            op.store_id = _store_for(session, role, store)
            op.role = role
        if active is not None:
            op.active = active
        if hashed is not None:
            op.password_hash = hashed
        op.generation += 1
        after = {"role": op.role, "active": op.active, "store_id": op.store_id}
        if hashed is not None:
            after["password"] = "changed"
        audit.record(session, by, "operator.update", op.username, before, after)
    return op
