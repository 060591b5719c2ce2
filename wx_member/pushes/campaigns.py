"""Campaigns from the console: a marketing push kind (and optionally a coupon) for a
segment of members (insights/segments.py) at a scheduled local time.

Lifecycle: `create` (scheduled) → `campaign_runs.plan_due` at or after its time (running →
done), or `cancel` before it ran. Here: what an operator asks for and its checks, the
preview, scheduling and cancelling, and reading campaigns and their progress. Progress is
read from the delivery rows of the occasion.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.clock import local_to_utc, utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Campaign, Coupon, CouponTemplate, Delivery, Member
from wx_member.pushes.definitions import PushKind
from wx_member.platform import audit
from wx_member.coupons import templates
from wx_member.insights import segments
from wx_member.platform.errors import DomainError
from wx_member.pushes.fanout import member_values

MAX_MESSAGE = 300
LEEWAY = timedelta(minutes=5)  # "now" typed into a minute-precise form is already past
MAX_AHEAD = timedelta(days=366)


class InvalidCampaign(DomainError):
    code = "INVALID_CAMPAIGN"
    user_message = "活动参数无效。"


@dataclass
class CampaignSpec:
    """What an operator asks for; `create` and `preview` check it."""
    name: str
    segment: dict[str, Any]
    kind: str
    message: str = ""
    coupon_template_id: int | None = None
    scheduled_local: datetime | None = None  # naive, the programme's zone; None: now


@dataclass
class Preview:
    segment_text: str
    members: int  # in the segment now (before the channel's reach and the cap)
    sample: Member | None
    body: dict[str, Any]


@dataclass
class Progress:
    counts: dict[str, int] = field(default_factory=dict)  # delivery status → rows
    coupons: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)  # channel → rows

    @property
    def planned(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, status: str) -> int:
        return self.counts.get(status, 0)


def occasion(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def coupon_prefix(campaign_id: int) -> str:
    return f"campaign:seg-{campaign_id}:"


def campaign_kinds(pushes: dict[str, PushKind]) -> dict[str, PushKind]:
    """Kinds a campaign may send: marketing ones that are configured here (never a template
    message: WeChat forbids marketing there, and the loader refuses such a definition)."""
    return {k: p for k, p in pushes.items()
            if p.marketing and p.channel != "template" and not p.disabled}


# What fanout.member_values fills from the member's row: never a sample's value.
MEMBER_KEYS = ("programme", "card_no", "tier", "points")


def campaign_values(push: PushKind, message: str, offer: str) -> dict[str, Any]:
    """The kind's samples for what a member's row does not give (a holiday kind's
    festival), the campaign's text and its coupon's name (empty: none)."""
    return {**{k: v for k, v in push.sample.items() if k not in MEMBER_KEYS},
            "message": message, "offer": offer}


def _check(session: Session, pushes: dict[str, PushKind], spec: CampaignSpec, cfg: Config,
           now: datetime) -> tuple[dict, PushKind, CouponTemplate | None, datetime]:
    if not spec.name.strip() or len(spec.name.strip()) > 60:
        raise InvalidCampaign("bad name", user_message="请填写活动名称（1–60 个字）。")
    push = campaign_kinds(pushes).get(spec.kind)
    if push is None:
        raise InvalidCampaign(f"kind {spec.kind!r} cannot be a campaign",
                              user_message="请选择可用的营销推送类型。")
    message = spec.message.strip()
    if "message" in push.sample and not 1 <= len(message) <= MAX_MESSAGE:
        raise InvalidCampaign("bad message",
                              user_message=f"请填写活动文案（1–{MAX_MESSAGE} 个字）。")
    segment = segments.parse(session, spec.segment)
    template = None
    if spec.coupon_template_id:
        template = templates.active(session, spec.coupon_template_id)
    if spec.scheduled_local is None:
        at = now
    else:
        at = local_to_utc(spec.scheduled_local, cfg.tz)
        if at < now - LEEWAY or at > now + MAX_AHEAD:
            raise InvalidCampaign(f"scheduled at {at} UTC, now {now}",
                                  user_message="发送时间须在现在到一年之内。")
    return segment, push, template, at


def preview(uow: UnitOfWork, pushes: dict[str, PushKind], spec: CampaignSpec, cfg: Config,
            now: datetime | None = None) -> Preview:
    """Use case (a read): the campaign's message as the segment's first member would read
    it (the kind's samples when the segment is empty), and how many members the segment
    has now."""
    now = now or utcnow()
    with uow.read() as session:
        segment, push, template, _ = _check(session, pushes, spec, cfg, now)
        member = segments.sample(session, segment, now)
        offer = (templates.describe(template) if template and (
            member is None or templates.tier_allows(template, member.tier)) else "")
        values = {**push.sample, **(member_values(cfg, member) if member else {}),
                  **campaign_values(push, spec.message.strip(), offer)}
        return Preview(segments.describe(segment), segments.count(session, segment, now),
                       member, push.render(values, cfg.mini_appid))


def create(uow: UnitOfWork, pushes: dict[str, PushKind], spec: CampaignSpec, cfg: Config,
           by: str, now: datetime | None = None) -> Campaign:
    """Use case: schedule a campaign (audited)."""
    now = now or utcnow()
    with uow.write() as session:
        segment, push, template, at = _check(session, pushes, spec, cfg, now)
        campaign = Campaign(name=spec.name.strip(), segment=segment, kind=push.kind,
                            message=spec.message.strip() or None,
                            coupon_template_id=template.id if template else None,
                            scheduled_at=at, status="scheduled", created_by=by, created_at=now)
        session.add(campaign)
        session.flush()
        audit.record(session, by, "campaign.create", f"campaign:{campaign.id}", None,
                     {"name": campaign.name, "segment": segment, "kind": push.kind,
                      "coupon_template": campaign.coupon_template_id,
                      "scheduled_at_utc": at.isoformat()}, now=now)
        return campaign


def cancel(uow: UnitOfWork, campaign_id: int, by: str, now: datetime | None = None) -> None:
    """Use case: withdraw a campaign that has not started. Raises once it has."""
    now = now or utcnow()
    with uow.write() as session:
        done = session.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "scheduled")
            .values(status="cancelled", cancelled_by=by, cancelled_at=now)).rowcount
        if not done:
            raise InvalidCampaign(f"campaign {campaign_id} is not scheduled",
                                  user_message="活动已开始、已结束或不存在，无法取消。")
        audit.record(session, by, "campaign.cancel", f"campaign:{campaign_id}", "scheduled",
                     "cancelled", now=now)


# ---- reading ----------------------------------------------------------------------------

def recent(uow: UnitOfWork, limit: int = 50) -> list[Campaign]:
    """Use case (a read): the newest campaigns."""
    with uow.read() as session:
        return list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


def get(uow: UnitOfWork, campaign_id: int) -> Campaign:
    """Use case (a read): one campaign."""
    with uow.read() as session:
        campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise InvalidCampaign(f"no campaign {campaign_id}", user_message="活动不存在。")
    return campaign


def progress(uow: UnitOfWork, campaigns: list[Campaign]) -> dict[int, Progress]:
    """Use case (a read): delivery rows by status (dry runs excluded) and coupons issued,
    per campaign: one grouped query for the deliveries, one count per campaign with a
    coupon."""
    with uow.read() as session:
        return _progress(session, campaigns)


def _progress(session: Session, campaigns: list[Campaign]) -> dict[int, Progress]:
    out = {c.id: Progress() for c in campaigns}
    by_occasion = {occasion(c.id): c.id for c in campaigns}
    if by_occasion:
        for occ, status, channel, n in session.execute(
                select(Delivery.occasion, Delivery.status, Delivery.channel, func.count())
                .where(Delivery.kind.in_({c.kind for c in campaigns}),
                       Delivery.occasion.in_(list(by_occasion)), Delivery.dry_run.is_(False))
                .group_by(Delivery.occasion, Delivery.status, Delivery.channel)):
            p = out[by_occasion[occ]]
            p.counts[status] = p.counts.get(status, 0) + int(n)
            p.by_channel[channel] = p.by_channel.get(channel, 0) + int(n)
    for c in campaigns:
        if c.coupon_template_id:
            out[c.id].coupons = int(session.scalar(
                select(func.count()).select_from(Coupon)
                .where(Coupon.cause.startswith(coupon_prefix(c.id), autoescape=True))) or 0)
    return out
