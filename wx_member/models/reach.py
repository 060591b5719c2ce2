"""Reaching followers in bulk: mass sends (群发) and the WeChat user tags the programme's
tags become. Rules live in `pushes/mass_sends.py` and `pushes/wechat_tags.py`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId

# queued → sending → sent → finished (WeChat's MASSSENDJOBFINISH came) | failed. A job left
# `sending` (a timeout, a crash) is called again with its clientmsgid: WeChat answers 45065
# with the earlier msg_id if it had it, so it is sent once.
MASS_STATUSES = ("sending", "sent", "finished", "failed")


class MassJob(Base):
    """One mass-send call: up to 10,000 openids (message/mass/send) or a tag
    (message/mass/sendall), one content, its own `clientmsgid` (WeChat's idempotency key)."""

    __tablename__ = "mass_job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clientmsgid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    occasion: Mapped[str] = mapped_column(String(80))
    tag_id: Mapped[int | None] = mapped_column(Integer)  # sendall by tag; None: openid list
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # openids in the call
    payload: Mapped[dict] = mapped_column(JSON)  # {"msgtype", "text"|"image": …}
    status: Mapped[str] = mapped_column(String(12), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    msg_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    msg_data_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(255))
    # MASSSENDJOBFINISH: Status, TotalCount, FilterCount, SentCount, ErrorCount.
    report: Mapped[str | None] = mapped_column(String(60))
    total: Mapped[int | None] = mapped_column(Integer)
    filtered: Mapped[int | None] = mapped_column(Integer)
    sent_count: Mapped[int | None] = mapped_column(Integer)
    errors: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class WechatTag(Base):
    """A programme tag (member_tag.tag) as a WeChat user tag: its id at WeChat once
    tags/create answered."""

    __tablename__ = "wechat_tag"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    wechat_id: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WechatTagMember(Base):
    """Who carries a tag at WeChat, as far as we told it: batchtagging adds the rows,
    batchuntagging removes them, so a sync sends only the difference and resumes."""

    __tablename__ = "wechat_tag_member"

    tag: Mapped[str] = mapped_column(ForeignKey("wechat_tag.name"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True, index=True)
    tagged_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WechatUntag(Base):
    """A WeChat user tag still on an openid that no member row holds any more (an erasure
    let go of it): the next tag sync, or the scheduler's hourly run, untags it at WeChat
    (batchuntagging) and deletes the row. It holds the pair WeChat needs and when it was
    queued, nothing else: no member id, no tag name (pushes/wechat_untags.py)."""

    __tablename__ = "wechat_untag"

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # WeChat's id of the tag
    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
