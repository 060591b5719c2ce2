"""Which members should carry each WeChat user tag (pushes/wechat_tags.py syncs them), as a
SQL condition on `Member` per tag name, in the order tags are created (WeChat allows 100 per
account: the later ones are left out and counted):
1. operators' and preference rules' tags (`member_tag`), under their own names;
2. the RFM segments (insights/rfm.py), scored now, as `RFM·重要价值` … `RFM·未消费`;
3. saved segments: those of campaigns scheduled or running (insights/segments.py), as
   `活动12·会员日` (cut to WeChat's 30 bytes). A campaign that is done or cancelled keeps
   its tag at WeChat (there is no deleting here) but its members are untagged.
The `·` cannot appear in an operator's tag (members/formats.TAG_RE), so names never clash.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from wx_member.insights import rfm, segments
from wx_member.models import Campaign, Member, MemberTag

RFM_PREFIX = "RFM·"
CAMPAIGN_PREFIX = "活动"
LIVE = ("scheduled", "running")
NAME_BYTES = 30  # WeChat's limit on a tag's name (45158), UTF-8


def fit(name: str) -> str:
    """`name` cut, at a character, to WeChat's 30 bytes."""
    while len(name.encode("utf-8")) > NAME_BYTES:
        name = name[:-1]
    return name


def _tagged(tag: str) -> ColumnElement:
    return select(MemberTag.member_id).where(MemberTag.member_id == Member.id,
                                             MemberTag.tag == tag).exists()


def wanted(session: Session, now: datetime, segments_too: bool = True) -> dict[str, ColumnElement]:
    """Tag name → who should carry it (a condition on `Member`), in creation order. RFM
    medians and campaign segments are looked up now, in the caller's transaction."""
    out: dict[str, ColumnElement] = {
        name: _tagged(name) for name in sorted(set(session.scalars(select(MemberTag.tag).distinct())))}
    if not segments_too:
        return out
    alive = Member.erased_at.is_(None)
    for name in segments.rfm_names():
        out[fit(RFM_PREFIX + name)] = alive & rfm.member_in(session, name, now)
    for cid, cname, segment in session.execute(
            select(Campaign.id, Campaign.name, Campaign.segment)
            .where(Campaign.status.in_(LIVE)).order_by(Campaign.id)):
        out[fit(f"{CAMPAIGN_PREFIX}{cid}·{cname}")] = Member.id.in_(
            segments.query(session, segment or {}, now, select(Member.id)))
    return out


def condition(wanted_: dict[str, ColumnElement], name: str) -> ColumnElement:
    """Who should carry `name` now: nobody once its tag or segment is gone."""
    return wanted_.get(name, false())
