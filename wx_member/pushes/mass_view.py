"""What the console's 群发 page reads: the tags synced to WeChat with how many members WeChat
was told carry each (`wechat_tag_member`, what the sync sent: WeChat's own count may differ
when someone tagged followers in WeChat's admin), the latest mass sends with WeChat's
report, and the monthly limit a follower's mass messages are held to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from wx_member.db import UnitOfWork
from wx_member.models import MassJob, WechatTag, WechatTagMember
from wx_member.platform import settings

HISTORY = 50


@dataclass(frozen=True)
class SyncedTag:
    name: str
    wechat_id: int
    members: int
    created_at: datetime


@dataclass(frozen=True)
class MassRow:
    id: int
    at: datetime
    kind: str  # "tag" (a send to a tag) or the push kind whose rows went out
    occasion: str
    tag: str | None  # the tag's name, for a send to a tag (None: not synced by us)
    tag_id: int | None
    recipients: int  # openids in the call (a send to a tag: 0, WeChat picks them)
    content: str  # "text" | "image"
    status: str
    msg_id: int | None
    error: str | None
    report: str | None  # MASSSENDJOBFINISH's Status, with its counts below
    total: int | None
    filtered: int | None
    sent: int | None
    errors: int | None


@dataclass(frozen=True)
class MassPage:
    tags: list[SyncedTag]
    jobs: list[MassRow]
    per_month: int  # setting mass_sends_per_month


def page(uow: UnitOfWork, limit: int = HISTORY) -> MassPage:
    """Use case (a read): the tags at WeChat (by name), the newest `limit` mass sends."""
    with uow.read() as session:
        counts = (select(WechatTagMember.tag, func.count().label("n"))
                  .group_by(WechatTagMember.tag).subquery())
        tags = [SyncedTag(name, wechat_id, int(n or 0), created) for name, wechat_id, n, created
                in session.execute(
                    select(WechatTag.name, WechatTag.wechat_id, counts.c.n, WechatTag.created_at)
                    .outerjoin(counts, counts.c.tag == WechatTag.name)
                    .order_by(WechatTag.created_at, WechatTag.name))]
        names = {t.wechat_id: t.name for t in tags}
        jobs = [MassRow(j.id, j.created_at, j.kind, j.occasion,
                        names.get(j.tag_id) if j.tag_id is not None else None, j.tag_id,
                        j.recipients, (j.payload or {}).get("msgtype", "text"), j.status,
                        j.msg_id, j.error, j.report, j.total, j.filtered, j.sent_count,
                        j.errors)
                for j in session.scalars(select(MassJob).order_by(MassJob.id.desc())
                                         .limit(limit))]
        per_month = int(settings.get(session, "mass_sends_per_month"))
    return MassPage(tags, jobs, per_month)
