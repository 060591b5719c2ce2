"""A mass send to a programme tag by its name, as an operator asks for it in the console's
群发: the message checked first (nothing is called for a refused one), the tag's WeChat id
looked up (a tag never synced cannot be sent to: WeChat does not know it), then
`mass_sends.send_to_tag`, audited. `TagSend.sent_now` tells a send from a repeat of an
occasion WeChat already took, which sends nothing (the operator is told, not misled)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wx_member.db import UnitOfWork
from wx_member.models import MassJob, WechatTag
from wx_member.platform.errors import DomainError
from wx_member.pushes import mass_sends
from wx_member.wechat.gateway import WeChatGateway

MAX_TEXT = 600  # characters of a mass text, as the console promises operators
MAX_OCCASION = 80  # mass_job.occasion
MEDIA_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,128}")  # WeChat's media ids are plain ASCII


class InvalidMassSend(DomainError):
    code = "INVALID_MASS_SEND"
    user_message = "群发内容无效。"


class TagNotSynced(DomainError):
    code = "TAG_NOT_SYNCED"
    user_message = "该标签还没有同步到微信，请先同步标签。"


@dataclass
class TagSend:
    job: MassJob
    sent_now: bool  # False: the occasion was used before and nothing was sent now


def check(text: str, media_id: str | None, occasion: str) -> tuple[str, str | None, str]:
    """The message and occasion as they will be sent, or InvalidMassSend in Chinese."""
    occasion = occasion.strip()
    if not occasion:
        raise InvalidMassSend("no occasion", user_message="请填写群发名称。")
    if len(occasion) > MAX_OCCASION:
        raise InvalidMassSend("occasion too long",
                              user_message=f"群发名称最多 {MAX_OCCASION} 个字。")
    if media_id is not None:
        media_id = media_id.strip()
        if not MEDIA_ID_RE.fullmatch(media_id):
            raise InvalidMassSend(f"bad media_id {media_id!r}", user_message=(
                "请填写图片的 media_id（在微信公众平台素材库上传图片后获得，只含字母、数字、- 和 _）。"))
        return "", media_id, occasion
    text = text.strip()
    if not text:
        raise InvalidMassSend("empty text", user_message="请填写群发的文字内容。")
    if len(text) > MAX_TEXT:
        raise InvalidMassSend("text too long", user_message=(
            f"文字最多 {MAX_TEXT} 个字，现在 {len(text)} 个字。"))
    return text, None, occasion


def send(uow: UnitOfWork, gateway: WeChatGateway, tag: str, text: str, occasion: str, *,
         by: str, media_id: str | None = None, now: datetime | None = None) -> TagSend:
    """Use case, in steps: check, look up, then `mass_sends.send_to_tag` (which calls
    WeChat with no transaction open and audits what WeChat took)."""
    if not tag:
        raise InvalidMassSend("no tag", user_message="请选择要群发的标签。")
    text, media_id, occasion = check(text, media_id, occasion)
    with uow.read() as session:
        tag_id = session.scalar(select(WechatTag.wechat_id).where(WechatTag.name == tag))
        earlier = session.scalars(select(MassJob).where(MassJob.kind == "tag",
                                                        MassJob.occasion == occasion)).first()
        if earlier is not None:
            session.expunge(earlier)
    if earlier is not None and earlier.status in ("sent", "finished", "unknown"):
        # WeChat has it (sent once, never again), or may have it (`unknown`: no answer
        # within the 24 hours it keeps the clientmsgid; a new call could send it twice).
        return TagSend(earlier, sent_now=False)
    if tag_id is None:
        raise TagNotSynced(f"tag {tag!r} not at WeChat",
                           user_message=f"标签「{tag}」还没有同步到微信，请先同步标签。")
    job = mass_sends.send_to_tag(uow, gateway, tag_id, text, occasion, now=now,
                                 media_id=media_id, by=by, tag=tag)
    return TagSend(job, sent_now=job.status == "sent")  # `unknown`: 24 hours unanswered
