"""What WeChat was told about a member's openid (`wechat_tag_member`: the WeChat user tags
the tag sync put on it) follows the openid, not the member row, because WeChat keeps the
tags on the openid whatever happens to the row:
- erasure lets go of the openid for good: each (WeChat tag id, openid) pair moves to
  `wechat_untag`, which the next tag sync (or the scheduler's hourly run) untags at WeChat
  and then deletes (pushes/wechat_untags.py); nothing else of the person is kept;
- a merge hands the absorbed member's openid to the survivor, and undoing it hands it
  back: the rows move with it, so the sync untags there what the new holder does not
  carry and does not tag again what it does.
Rule functions: they run inside the caller's transaction.
"""
from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.models import WechatTag, WechatTagMember, WechatUntag

QUIET = {"synchronize_session": False}


def release(session: Session, member_id: int, openid: str | None) -> int:
    """The member lets go of `openid` (erasure): its WeChat tags are queued for untagging,
    its rows deleted. Returns the pairs queued."""
    tag_ids = set(session.scalars(
        select(WechatTag.wechat_id).join(WechatTagMember, WechatTagMember.tag == WechatTag.name)
        .where(WechatTagMember.member_id == member_id)))
    if openid and tag_ids:
        # A pair still queued from before (the same openid erased once already, followed
        # again and tagged) stays as it is: one untag does for both.
        tag_ids -= set(session.scalars(select(WechatUntag.tag_id).where(
            WechatUntag.openid == openid, WechatUntag.tag_id.in_(tag_ids))))
        if tag_ids:
            session.execute(insert(WechatUntag), [
                {"tag_id": t, "openid": openid, "queued_at": utcnow()} for t in sorted(tag_ids)])
    else:
        tag_ids = set()
    session.execute(delete(WechatTagMember).where(WechatTagMember.member_id == member_id)
                    .execution_options(**QUIET))
    return len(tag_ids)


def follow_openid(session: Session, from_id: int, to_id: int) -> None:
    """The openid moves from member `from_id` to `to_id` (a merge, its undo): so does what
    WeChat was told it carries. A tag `to_id` is recorded with already stays recorded once."""
    # Read first: MariaDB refuses a DELETE whose subquery reads the same table (1093).
    have = list(session.scalars(select(WechatTagMember.tag)
                                .where(WechatTagMember.member_id == to_id)))
    if have:
        session.execute(delete(WechatTagMember).where(WechatTagMember.member_id == from_id,
                                                      WechatTagMember.tag.in_(have))
                        .execution_options(**QUIET))
    session.execute(update(WechatTagMember).where(WechatTagMember.member_id == from_id)
                    .values(member_id=to_id).execution_options(**QUIET))
