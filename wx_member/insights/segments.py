"""Segments: which members a campaign is for, as data (a small JSON object) and as SQL.

A segment is a dict of criteria, all of which a member must meet (none: every member):

    tier            "gold"          the member's tier (normal | silver | gold | diamond)
    tag             "VIP"           an operator's tag on the member
    rfm             "重要价值"       an RFM segment (insights/rfm.py), or 未消费 (no order)
    dormant_days    90              bought before, but no order in the last N days
    birthday_month  5               born in that month
    channel         "store_a"       joined through that channel QR code (its scene)
    store           "SH001"         whose home store (归属门店) it is (the store's code)
    category        "拿铁"           bought a line of that category (an order not fully refunded)
    sku             "LATTE-M"       bought that SKU (likewise)

`query` turns one into a WHERE on `Member`, so a campaign's count, its sample member, its
coupons and its pushes all select the same members, set-based, at any member count.
Erased members (members/privacy.py) are in no segment.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, extract, func, select
from sqlalchemy.orm import Session

from wx_member.models import Channel, Member, MemberTag, Order, OrderLine, Store
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.insights import rfm
from wx_member.loyalty import tiers
from wx_member.platform.errors import DomainError
from wx_member.insights.kpis import COUNTED
from wx_member.members.formats import TAG_RE

KEYS = ("tier", "tag", "rfm", "dormant_days", "birthday_month", "channel", "store",
        "category", "sku")
MAX_DORMANT_DAYS = 3650


class InvalidSegment(DomainError):
    code = "INVALID_SEGMENT"
    user_message = "分群条件无效。"


def rfm_names() -> list[str]:
    return [*rfm.SEGMENTS.values(), rfm.NO_ORDER]


def _whole(value: Any, low: int, high: int, message: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidSegment(f"not a whole number: {value!r}", user_message=message) from None
    if not low <= number <= high:
        raise InvalidSegment(f"{number} outside {low}..{high}", user_message=message)
    return number


def parse(session: Session, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The segment an operator asked for (form fields or stored JSON), checked and with
    empty criteria dropped; raises InvalidSegment with a Chinese message."""
    unknown = set(raw) - set(KEYS)
    if unknown:
        raise InvalidSegment(f"unknown criteria {sorted(unknown)}")
    given = {k: v for k, v in raw.items() if v not in (None, "")}
    segment: dict[str, Any] = {}
    if "tier" in given:
        if given["tier"] not in tiers.LADDER:
            raise InvalidSegment(f"bad tier {given['tier']!r}", user_message="会员等级无效。")
        segment["tier"] = given["tier"]
    if "tag" in given:
        tag = str(given["tag"]).strip()
        if not TAG_RE.match(tag):
            raise InvalidSegment(f"bad tag {tag!r}", user_message="标签无效。")
        segment["tag"] = tag
    if "rfm" in given:
        if given["rfm"] not in rfm_names():
            raise InvalidSegment(f"bad RFM segment {given['rfm']!r}",
                                 user_message="RFM 分群无效。")
        segment["rfm"] = given["rfm"]
    if "dormant_days" in given:
        segment["dormant_days"] = _whole(given["dormant_days"], 1, MAX_DORMANT_DAYS,
                                         f"沉睡天数须为 1–{MAX_DORMANT_DAYS} 的整数。")
    if "birthday_month" in given:
        segment["birthday_month"] = _whole(given["birthday_month"], 1, 12,
                                           "生日月份须为 1–12。")
    if "channel" in given:
        scene = str(given["channel"]).strip()
        if session.scalar(select(Channel.id).where(Channel.scene == scene)) is None:
            raise InvalidSegment(f"no channel {scene!r}", user_message="渠道不存在。")
        segment["channel"] = scene
    if "store" in given:
        code = str(given["store"]).strip()
        if session.scalar(select(Store.id).where(Store.code == code)) is None:
            raise InvalidSegment(f"no store {code!r}", user_message="门店不存在。")
        segment["store"] = code
    for key, message in (("category", "品类须为 1–30 个字。"), ("sku", "商品编码无效。")):
        if key in given:
            text = str(given[key]).strip()
            if not text or len(text) > (30 if key == "category" else 40):
                raise InvalidSegment(f"bad {key} {text!r}", user_message=message)
            segment[key] = text
    return segment


def describe(segment: Mapping[str, Any]) -> str:
    """The segment in an operator's words, e.g. 金卡会员 且 标签「VIP」."""
    parts = []
    if "tier" in segment:
        parts.append(tier_name(segment["tier"]))
    if "tag" in segment:
        parts.append(f"标签「{segment['tag']}」")
    if "rfm" in segment:
        parts.append(f"RFM {segment['rfm']}")
    if "dormant_days" in segment:
        parts.append(f"{segment['dormant_days']} 天未消费（曾消费）")
    if "birthday_month" in segment:
        parts.append(f"{segment['birthday_month']} 月生日")
    if "channel" in segment:
        parts.append(f"渠道 {segment['channel']}")
    if "store" in segment:
        parts.append(f"门店 {segment['store']}")
    if "category" in segment:
        parts.append(f"买过品类「{segment['category']}」")
    if "sku" in segment:
        parts.append(f"买过商品 {segment['sku']}")
    return " 且 ".join(parts) or "全部会员"


def query(session: Session, segment: Mapping[str, Any], now: datetime | None = None,
          base: Select | None = None) -> Select:
    """`base` (a SELECT over `member`; default: member ids and tiers) narrowed to the
    segment's members as of `now`. The one place a segment becomes SQL."""
    now = now or utcnow()
    q = base if base is not None else select(Member.id, Member.tier)
    q = q.where(Member.erased_at.is_(None))
    if "tier" in segment:
        q = q.where(Member.tier == segment["tier"])
    if "tag" in segment:
        q = q.where(Member.id.in_(select(MemberTag.member_id)
                                  .where(MemberTag.tag == segment["tag"])))
    if "rfm" in segment:
        q = q.where(rfm.members_in(session, segment["rfm"], now))
    if "dormant_days" in segment:
        cutoff = now - timedelta(days=segment["dormant_days"])
        bought = exists().where(Order.member_id == Member.id, Order.status.in_(COUNTED))
        q = q.where(bought, ~bought.where(Order.paid_at >= cutoff))
    if "birthday_month" in segment:
        q = q.where(extract("month", Member.birthday) == segment["birthday_month"])
    if "channel" in segment:
        q = q.where(Member.channel_id.in_(select(Channel.id)
                                          .where(Channel.scene == segment["channel"])))
    if "store" in segment:
        q = q.where(Member.home_store_id.in_(select(Store.id)
                                             .where(Store.code == segment["store"])))
    for key, column in (("category", OrderLine.category), ("sku", OrderLine.sku)):
        if key in segment:
            q = q.where(Member.id.in_(
                select(Order.member_id).join(OrderLine, OrderLine.order_id == Order.id)
                .where(column == segment[key], Order.status != "refunded")))
    return q


def count(session: Session, segment: Mapping[str, Any], now: datetime | None = None) -> int:
    inner = query(session, segment, now, select(Member.id)).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def sample(session: Session, segment: Mapping[str, Any],
           now: datetime | None = None) -> Member | None:
    """A member of the segment to preview a message with (the earliest joined)."""
    return session.scalar(query(session, segment, now, select(Member))
                          .order_by(Member.id).limit(1))
