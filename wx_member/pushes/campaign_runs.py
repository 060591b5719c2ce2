"""Campaigns at their time (pushes/campaigns.py schedules them): `plan_due` plans every
campaign whose time has come (running → done), `forecast` says what planning one now would do.

Planning goes through the push machinery (`fan_out`): occasion `campaign:<id>`, so each
member is planned once whatever runs twice; the channel's reach, the frequency cap (a
`skipped` row) and quiet hours (the sender holds the row) apply as to every marketing push.
A coupon template is issued to the whole segment first, set-based (cause
`campaign:seg-<id>:<member>`), and the message names it to those who got it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Campaign, Coupon, CouponTemplate, Delivery, Member
from wx_member.pushes.definitions import PushKind
from wx_member.coupons import bulk_issue
from wx_member.coupons import templates
from wx_member.pushes import planners
from wx_member.insights import segments
from wx_member.platform import keyset
from wx_member.pushes import reach
from wx_member.pushes.campaigns import (InvalidCampaign, campaign_kinds, campaign_values,
                                        coupon_prefix, get, occasion)
from wx_member.pushes.fanout import BATCH, audience, counting_channels, fan_out


def plan_due(uow: UnitOfWork, pushes: dict[str, PushKind], cfg: Config,
             now: datetime | None = None) -> dict[int, planners.PlanResult]:
    """Use case, in batches (scheduler, every minute): plan every campaign whose time has
    come. Each campaign is taken (and its segment fixed) in one transaction, its coupons
    and deliveries are written a transaction per batch of members, and it is marked done
    in a last one. A campaign left `running` by a process that died is planned again:
    only members not yet planned are added."""
    now = now or utcnow()
    with uow.read() as session:
        due = list(session.scalars(select(Campaign.id).where(
            Campaign.status.in_(("scheduled", "running")), Campaign.scheduled_at <= now)
            .order_by(Campaign.scheduled_at, Campaign.id)))
    return {cid: result for cid in due
            if (result := _run(uow, pushes, cfg, cid, now)) is not None}


def _finish(session: Session, campaign_id: int, status: str, now: datetime,
            **values: Any) -> None:
    session.execute(update(Campaign).where(Campaign.id == campaign_id)
                    .values(status=status, finished_at=now, **values))


def _run(uow: UnitOfWork, pushes: dict[str, PushKind], cfg: Config, campaign_id: int,
         now: datetime) -> planners.PlanResult | None:
    with uow.write() as session:
        took = session.execute(
            update(Campaign).where(Campaign.id == campaign_id,
                                   Campaign.status.in_(("scheduled", "running")))
            .values(status="running", started_at=func.coalesce(Campaign.started_at, now))
        ).rowcount
        campaign = session.get(Campaign, campaign_id) if took else None
        if campaign is None:
            return None  # cancelled meanwhile
        segment, kind, message = campaign.segment, campaign.kind, campaign.message or ""
        template = (session.get(CouponTemplate, campaign.coupon_template_id)
                    if campaign.coupon_template_id else None)
        push = campaign_kinds(pushes).get(kind)
        if push is None:
            _finish(session, campaign_id, "failed", now, note=f"push kind {kind} not available")
            return None
        # The segment as of now; RFM medians are looked up once, here.
        size = segments.count(session, segment, now)
        prefix = coupon_prefix(campaign_id)
        key = occasion(campaign_id)
        recipients = _recipients(session, segment, push, campaign_id, now)
        holders = segments.query(session, segment, now)
    if template is not None and template.active:
        _issue_coupons(uow, template, holders, prefix, now)
    offer = templates.describe(template) if template is not None else ""
    with counting_channels() as counts:
        planned, capped = fan_out(
            uow, push, key, recipients, cfg, now,
            extra=lambda row: campaign_values(push, message, offer if row.holds_coupon else ""))
    with uow.write() as session:
        _finish(session, campaign_id, "done", now, members=size)
    return planners.PlanResult(push.kind, [key], planned, capped, by_channel=counts)


def _recipients(session: Session, segment: dict, push: PushKind, campaign_id: int,
                now: datetime):
    """The segment's members the campaign has not planned yet, each with the channel
    chosen for them (`reach.audience`) and whether they hold its coupon."""
    # The member's coupon of this campaign (its cause is the prefix + their id).
    holds = exists().where(Coupon.member_id == Member.id,
                           Coupon.cause.startswith(coupon_prefix(campaign_id), autoescape=True))
    return segments.query(session, segment, now, audience(push, now).add_columns(
        holds.label("holds_coupon"))).where(~exists().where(
            Delivery.member_id == Member.id, Delivery.kind == push.kind,
            Delivery.occasion == occasion(campaign_id)))


def forecast(uow: UnitOfWork, pushes: dict[str, PushKind], campaign_id: int, cfg: Config,
             now: datetime | None = None) -> reach.Forecast:
    """Use case, reads only: what planning the campaign now would do: its segment's
    members targeted, reachable by each channel, held by the weekly cap, unreachable and
    why (pushes/reach.py). Planning it at the same moment plans exactly these."""
    now = now or utcnow()
    campaign = get(uow, campaign_id)
    push = campaign_kinds(pushes).get(campaign.kind)
    if push is None:
        raise InvalidCampaign(f"push kind {campaign.kind} not available",
                              user_message="该活动的推送类型未配置。")
    with reach.gather(push.kind) as result:
        with uow.read() as session:
            recipients = _recipients(session, campaign.segment, push, campaign_id, now)
        fan_out(uow, push, occasion(campaign_id), recipients, cfg, now)
    return result


def _issue_coupons(uow: UnitOfWork, template: CouponTemplate, holders, prefix: str,
                   now: datetime) -> bulk_issue.BulkResult:
    """The campaign's coupon for every member of the segment, a transaction per batch of
    BATCH members."""
    result = bulk_issue.BulkResult()
    for session, rows in keyset.batches(uow.write, holders, Member.id, size=BATCH):
        bulk_issue.issue_many(session, template, {f"{prefix}{m.id}": m for m in rows},
                              "campaign", now, result)
    return result
