"""Channel QR codes (store, staff, poster, campaign) and what they bring: scans and joins."""
from __future__ import annotations

import re
import secrets
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.clock import utcnow
from wx_member.models import Channel, Member, QrScan
from wx_member.members import stores
from wx_member.platform import audit
from wx_member.platform.errors import ChannelExists, DomainError
from wx_member.row_writes import insert_row
from wx_member.wechat.gateway import MAX_TEMP_QR_SECONDS, WeChatGateway

SCENE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class InvalidChannel(DomainError):
    code = "INVALID_CHANNEL"
    user_message = "渠道参数无效。"


class UnknownChannel(DomainError):
    code = "CHANNEL_NOT_FOUND"
    user_message = "没有这个渠道码。"


class ChannelRetired(InvalidChannel):
    code = "CHANNEL_RETIRED"
    user_message = "渠道码已停用：已停用的渠道码不能再修改、续期或调整门店（扫码仍可入会；恢复使用后可以）。"


@dataclass(frozen=True)
class ChannelStats:
    scene: str
    name: str
    kind: str
    scans: int  # scan events
    scanners: int  # distinct people
    joins: int  # new members through this channel


def by_scene(session: Session, scene: str) -> Channel | None:
    return session.scalar(select(Channel).where(Channel.scene == scene))


def new_scene(uow: UnitOfWork, kind: str) -> str:
    """Use case (a read): an unused scene for a channel of `kind`, for an operator who
    names the channel in Chinese (南京东路店) and leaves the scene, ASCII only, to us."""
    with uow.read() as session:
        while True:
            scene = f"{kind if kind in labels.CHANNEL_KINDS else 'channel'}_{secrets.token_hex(3)}"
            if by_scene(session, scene) is None:
                return scene


def create(uow: UnitOfWork, gateway: WeChatGateway, *, scene: str, name: str, kind: str,
           permanent: bool = False, expire_days: int = 30, by: str = "cli",
           store: str | None = None) -> Channel:
    """Use case: an operator creates a channel QR code through WeChat and stores it
    (audited). No transaction is open while WeChat is called: a read, the call, a write.
    `store`: the code of the store it stands in (its joiners' home store)."""
    if kind not in labels.CHANNEL_KINDS:
        raise InvalidChannel(f"kind must be one of {', '.join(labels.CHANNEL_KINDS)}",
                             user_message="渠道参数无效：请选择渠道类型。")
    if not name.strip():
        raise InvalidChannel("a channel needs a name", user_message="渠道参数无效：请填写名称。")
    if not SCENE_RE.match(scene):
        raise InvalidChannel("scene must be 1-64 letters, digits, '_' or '-'",
                             user_message="渠道参数无效：场景值只能用字母、数字、_ 或 -（中文名称"
                                          "填在“名称”里，场景值可留空自动生成）。")
    if scene.startswith("ref_") != (kind == "referral"):
        raise InvalidChannel("the ref_ prefix is reserved for member referral codes",
                             user_message="渠道参数无效：ref_ 开头的场景值留给会员推荐码。")
    expire_seconds = min(max(int(expire_days), 1) * 86400, MAX_TEMP_QR_SECONDS)
    with uow.read() as session:
        if by_scene(session, scene) is not None:
            raise ChannelExists(f"scene {scene!r} exists")
        if store:
            stores.require_open(session, store)
    qr = gateway.create_qrcode(scene, permanent=permanent, expire_seconds=expire_seconds)
    with uow.write() as session:
        store_id = stores.require_open(session, store).id if store else None
        channel = Channel(scene=scene, name=name.strip(), kind=kind, permanent=permanent,
                          ticket=qr.ticket, qr_url=qr.url, store_id=store_id,
                          expires_at=None if permanent else utcnow() + timedelta(seconds=expire_seconds))
        session.add(channel)
        audit.record(session, by, "channel.create", scene, None,
                     {"name": channel.name, "kind": kind, "permanent": permanent,
                      "store": store or None})
    return channel


def qrcode_image(uow: UnitOfWork, gateway: WeChatGateway, scene: str,
                 store_id: int | None = None) -> bytes:
    """Use case: the channel's QR code as a PNG, from WeChat (no transaction open meanwhile).
    Raises UnknownChannel for a scene without a stored code (or, with `store_id`, one not
    standing in that store), WeChatUnavailable when WeChat fails."""
    with uow.read() as session:
        ch = by_scene(session, scene)
        if ch is not None and store_id is not None and ch.store_id != store_id:
            ch = None
        ticket = ch.ticket if ch is not None else None
    if not ticket:
        raise UnknownChannel(f"no channel QR code {scene!r}")
    return gateway.qrcode_image(ticket)


def get(uow: UnitOfWork, scene: str) -> Channel:
    """Use case (a read): one channel by scene; UnknownChannel otherwise."""
    with uow.read() as session:
        channel = by_scene(session, scene)
    if channel is None:
        raise UnknownChannel(f"no channel {scene!r}")
    return channel


def update(uow: UnitOfWork, scene: str, *, name: str, kind: str, by: str) -> Channel:
    """Use case: an operator renames a channel or changes its kind (its scene, and so its
    printed QR code, stay), audited."""
    if kind not in labels.CHANNEL_KINDS or kind == "referral":
        raise InvalidChannel(f"bad kind {kind!r}", user_message="渠道参数无效：请选择渠道类型。")
    if not name.strip() or len(name.strip()) > 100:
        raise InvalidChannel("a channel needs a name", user_message="渠道参数无效：请填写名称。")
    with uow.write() as session:
        channel = by_scene(session, scene)
        if channel is None or channel.kind == "referral":
            raise UnknownChannel(f"no channel {scene!r}")
        refuse_retired(channel)
        before = {"name": channel.name, "kind": channel.kind}
        channel.name, channel.kind = name.strip(), kind
        audit.record(session, by, "channel.update", scene, before, {"name": channel.name,
                                                                    "kind": kind})
    return channel


def renew(uow: UnitOfWork, gateway: WeChatGateway, scene: str, expire_days: int,
          by: str) -> Channel:
    """Use case: a new temporary code for the same scene (the old one lapses as WeChat
    set it), valid `expire_days` from now, audited. No transaction while WeChat is called."""
    expire_seconds = min(max(int(expire_days), 1) * 86400, MAX_TEMP_QR_SECONDS)
    channel = get(uow, scene)
    refuse_retired(channel)
    if channel.permanent:
        raise InvalidChannel(f"{scene} is permanent", user_message="永久二维码不会过期，无需续期。")
    qr = gateway.create_qrcode(scene, permanent=False, expire_seconds=expire_seconds)
    with uow.write() as session:
        channel = by_scene(session, scene)
        refuse_retired(channel)  # retired while WeChat was called
        before = channel.expires_at
        channel.ticket, channel.qr_url = qr.ticket, qr.url
        channel.expires_at = utcnow() + timedelta(seconds=expire_seconds)
        audit.record(session, by, "channel.renew", scene,
                     {"expires_at_utc": before.isoformat() if before else None},
                     {"expires_at_utc": channel.expires_at.isoformat()})
    return channel


def refuse_retired(channel: Channel) -> None:
    if channel.retired_at is not None:
        raise ChannelRetired(f"channel {channel.scene} is retired")


def retire(uow: UnitOfWork, scene: str, by: str) -> Channel:
    """Use case: an operator retires a channel code (audited; twice changes nothing).

    WeChat keeps a printed code valid (a permanent one for ever), so a scan of a retired
    code does what any scan does: the person joins (card, sign-up points and coupon are
    the programme's, not the channel's), the scan and the join count to the channel and a
    code standing in a store still gives joiners that home store. Retiring only takes the
    code out of the operators' way: hidden from the default list, marked 已停用 where it
    shows, no longer renamed, moved to a store or renewed (until `restore`). Members'
    referral codes are not channels an operator retires."""
    with uow.write() as session:
        channel = by_scene(session, scene)
        if channel is None or channel.kind == "referral":
            raise UnknownChannel(f"no channel {scene!r}")
        if channel.retired_at is None:
            channel.retired_at = utcnow()
            audit.record(session, by, "channel.retire", scene,
                         {"name": channel.name, "status": "active"},
                         {"name": channel.name, "status": "retired"})
    return channel


def restore(uow: UnitOfWork, scene: str, by: str) -> Channel:
    """Use case: an operator brings a retired code back into use (audited; a code in use
    changes nothing): it shows in the default list again and can be renamed, moved to a
    store and renewed. Its scans and joins never stopped counting, so nothing else moves."""
    with uow.write() as session:
        channel = by_scene(session, scene)
        if channel is None or channel.kind == "referral":
            raise UnknownChannel(f"no channel {scene!r}")
        if channel.retired_at is not None:
            channel.retired_at = None
            audit.record(session, by, "channel.restore", scene,
                         {"name": channel.name, "status": "retired"},
                         {"name": channel.name, "status": "active"})
    return channel


# scene → channel id, per engine (each database has its own ids). A channel's scene and id
# never change and channels are never deleted, so a found id stays right; the TTL only
# bounds how long a process trusts it should a database be restored under it. A scene
# without a channel is not remembered: it may be created any moment.
_ID_TTL = 300.0
_ID_MAX = 10_000  # referral scenes are one per member: keep the memory bounded
_ids: weakref.WeakKeyDictionary[Engine, dict[str, tuple[int, float]]] = weakref.WeakKeyDictionary()
_ID_BY_SCENE = select(Channel.__table__.c.id).where(Channel.__table__.c.scene == bindparam("scene"))


def id_by_scene(session: Session, scene: str) -> int | None:
    known = _ids.setdefault(session.get_bind(), {})
    hit = known.get(scene)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    found = session.scalar(_ID_BY_SCENE, {"scene": scene})
    if found is not None:
        if len(known) >= _ID_MAX:
            known.clear()
        known[scene] = (found, now + _ID_TTL)
    return found


def record_scan(session: Session, channel_id: int | None, scene: str, openid: str,
                joined: bool, now: datetime | None = None) -> None:
    insert_row(session, QrScan, channel_id=channel_id, scene=scene, openid=openid,
               joined=joined, created_at=now or utcnow())


def stats(session: Session) -> list[ChannelStats]:
    """Per-channel scans, distinct scanners and joins, one query."""
    scans = (select(QrScan.scene,
                    func.count().label("scans"),
                    func.count(func.distinct(QrScan.openid)).label("scanners"),
                    func.sum(case((QrScan.joined, 1), else_=0)).label("joins"))
             .group_by(QrScan.scene).subquery())
    rows = session.execute(
        select(Channel.scene, Channel.name, Channel.kind,
               func.coalesce(scans.c.scans, 0), func.coalesce(scans.c.scanners, 0),
               func.coalesce(scans.c.joins, 0))
        .outerjoin(scans, scans.c.scene == Channel.scene).order_by(Channel.id))
    return [ChannelStats(s, n, k, int(a), int(b), int(c)) for s, n, k, a, b, c in rows]


def members_joined(session: Session, scene: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Member).where(Member.scene == scene)))


def choices(uow: UnitOfWork) -> list[tuple[str, str]]:
    """Use case (a read): (scene, name) of the shop's channel codes (members' referral codes
    excepted), for the console's segment form; a retired code is still offered (its
    members are still a segment), marked 已停用."""
    with uow.read() as session:
        return [(s, n + ("（已停用）" if r is not None else "")) for s, n, r in session.execute(
            select(Channel.scene, Channel.name, Channel.retired_at)
            .where(Channel.kind != "referral").order_by(Channel.id))]
