"""Stores of the chain: creating, editing and closing one (audited), the store a channel
code stands in, and a member's home store (归属门店): the store of the channel they joined
through (`membership.new_member` sets it in the statement that numbers the card), which an
operator may change (audited).

A store is never deleted: orders, members and the audit log name it. A closed store's tills
are refused (payments/till_keys.py); its members keep it as their home store until an
operator moves them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Channel, Member, Store
from wx_member.platform import audit
from wx_member.platform.errors import DomainError, UnknownMember

CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,20}$")
STATUSES = ("open", "closed")


class InvalidStore(DomainError):
    code = "INVALID_STORE"
    user_message = "门店信息无效。"


class UnknownStore(DomainError):
    code = "STORE_NOT_FOUND"
    user_message = "没有这个门店。"


class StoreExists(DomainError):
    code = "STORE_EXISTS"
    user_message = "门店编号已存在。"


@dataclass(frozen=True)
class StoreRow:
    id: int
    code: str
    name: str
    city: str
    address: str
    status: str
    members: int  # whose home store it is
    channels: int


def _text(value: str | None, most: int, what: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidStore(f"{what} is required", user_message=f"请填写{what}。")
    if len(value) > most:
        raise InvalidStore(f"{what} longer than {most}",
                           user_message=f"{what}最多 {most} 个字符。")
    return value


def check_code(code: str) -> str:
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise InvalidStore(f"bad store code {code!r}",
                           user_message="门店编号须为 1-20 个字母、数字、'_' 或 '-'。")
    return code


def by_code(session: Session, code: str) -> Store | None:
    return session.scalar(select(Store).where(Store.code == code))


def require(session: Session, code: str) -> Store:
    store = by_code(session, (code or "").strip())
    if store is None:
        raise UnknownStore(f"no store {code!r}")
    return store


def require_open(session: Session, code: str) -> Store:
    """An open store by code: a closed one takes no new channel codes or keys."""
    store = require(session, code)
    if store.status != "open":
        raise InvalidStore(f"store {store.code} is closed", user_message="门店已关闭。")
    return store


def _fields(store: Store) -> dict:
    return {"name": store.name, "city": store.city, "address": store.address,
            "status": store.status}


def create(uow: UnitOfWork, code: str, name: str, city: str = "", address: str = "",
           by: str = "cli") -> Store:
    """Use case: a new (open) store, audited."""
    code = check_code(code)
    name = _text(name, 100, "门店名称", required=True)
    city, address = _text(city, 40, "城市"), _text(address, 200, "地址")
    with uow.write() as session:
        if by_code(session, code) is not None:
            raise StoreExists(f"store {code} exists")
        store = Store(code=code, name=name, city=city, address=address, status="open",
                      created_at=utcnow())
        session.add(store)
        session.flush()
        audit.record(session, by, "store.create", code, None, _fields(store))
    return store


def edit(uow: UnitOfWork, code: str, by: str = "cli", *, name: str | None = None,
         city: str | None = None, address: str | None = None,
         status: str | None = None) -> Store:
    """Use case: change a store's name, city, address or status (open | closed; closing
    refuses its tills at once), audited. Fields left None stay."""
    if status is not None and status not in STATUSES:
        raise InvalidStore(f"bad status {status!r}", user_message="门店状态无效。")
    with uow.write() as session:
        store = require(session, code)
        before = _fields(store)
        if name is not None:
            store.name = _text(name, 100, "门店名称", required=True)
        if city is not None:
            store.city = _text(city, 40, "城市")
        if address is not None:
            store.address = _text(address, 200, "地址")
        if status is not None and status != store.status:
            store.status = status
            store.closed_at = utcnow() if status == "closed" else None
        after = _fields(store)
        if after != before:
            action = {"closed": "store.close", "open": "store.reopen"}.get(
                after["status"]) if after["status"] != before["status"] else "store.edit"
            audit.record(session, by, action, store.code, before, after)
    return store


def close(uow: UnitOfWork, code: str, by: str = "cli") -> Store:
    """Use case: close a store (its tills are refused from now on), audited."""
    return edit(uow, code, by, status="closed")


def all_stores(uow: UnitOfWork, store_id: int | None = None) -> list[StoreRow]:
    """Use case (a read): every store (or only `store_id`), with how many members call it
    home and how many channel codes stand in it, in one query."""
    with uow.read() as session:
        return rows(session, store_id)


def rows(session: Session, store_id: int | None = None) -> list[StoreRow]:
    members = (select(Member.home_store_id.label("sid"), func.count().label("n"))
               .where(Member.home_store_id.is_not(None)).group_by(Member.home_store_id)
               .subquery())
    chans = (select(Channel.store_id.label("sid"), func.count().label("n"))
             .where(Channel.store_id.is_not(None)).group_by(Channel.store_id).subquery())
    q = (select(Store, func.coalesce(members.c.n, 0), func.coalesce(chans.c.n, 0))
         .outerjoin(members, members.c.sid == Store.id)
         .outerjoin(chans, chans.c.sid == Store.id).order_by(Store.code))
    if store_id is not None:
        q = q.where(Store.id == store_id)
    return [StoreRow(s.id, s.code, s.name, s.city, s.address, s.status, int(m), int(c))
            for s, m, c in session.execute(q)]


def choices(uow: UnitOfWork) -> list[tuple[int, str, str]]:
    """Use case (a read): (id, code, name) of every store, for the console's selects."""
    with uow.read() as session:
        return [(i, c, n) for i, c, n in session.execute(
            select(Store.id, Store.code, Store.name).order_by(Store.code))]


def set_home_store(uow: UnitOfWork, member_id: int, store_code: str | None, by: str,
                   scope_store_id: int | None = None) -> Member:
    """Use case: an operator moves a member to another home store (None: no home store),
    audited with the store codes before and after. Moving members between stores is HQ's
    call: a store-scoped operator (`scope_store_id`) is refused, and a member outside their
    store is not found for them (as if it did not exist)."""
    with uow.write() as session:
        member = session.get(Member, member_id, with_for_update=True)
        if member is None or (scope_store_id is not None
                              and member.home_store_id != scope_store_id):
            raise UnknownMember(f"no member {member_id} in scope", user_message="会员不存在。")
        if scope_store_id is not None:
            raise InvalidStore("store-scoped operators cannot move members",
                               user_message="只有总部账号可以修改会员的归属门店。")
        new = require(session, store_code) if store_code else None
        old = session.get(Store, member.home_store_id) if member.home_store_id else None
        if (new.id if new else None) != member.home_store_id:
            member.home_store_id = new.id if new else None
            audit.record(session, by, "member.home_store", member.card_no or str(member.id),
                         {"store": old.code if old else None},
                         {"store": new.code if new else None})
    return member


def assign_channel(uow: UnitOfWork, scene: str, store_code: str | None, by: str = "cli") -> Channel:
    """Use case: put a channel code in a store (None: in none), audited. Members who joined earlier keep their home store; the joins from
    now on get the new one."""
    with uow.write() as session:
        channel = session.scalar(select(Channel).where(Channel.scene == scene))
        if channel is None or channel.kind == "referral":
            raise UnknownStore(f"no channel {scene!r}", user_message="没有这个渠道码。")
        if channel.retired_at is not None:  # members/channels.retire: no more edits
            raise InvalidStore(f"channel {scene!r} is retired",
                               user_message="渠道码已停用，不能再调整门店。")
        new = require_open(session, store_code) if store_code else None
        old = session.get(Store, channel.store_id) if channel.store_id else None
        if (new.id if new else None) != channel.store_id:
            channel.store_id = new.id if new else None
            audit.record(session, by, "channel.store", scene, {"store": old.code if old else None},
                         {"store": new.code if new else None})
    return channel
