"""Trying push messages before they go out: a kind's request body for one member, and dry
runs to test openids only (a kind, or a campaign's own message), audited."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from wx_member.config import Config
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Campaign, CouponTemplate, Member
from wx_member.pushes.definitions import PushKind
from wx_member.platform import audit
from wx_member.platform import settings
from wx_member.coupons import templates
from wx_member.loyalty import birthday_bonus
from wx_member.pushes import deliveries
from wx_member.members import membership
from wx_member.pushes import planners
from wx_member.pushes.campaigns import InvalidCampaign, campaign_values
from wx_member.members.formats import OPENID_RE
from wx_member.pushes.fanout import member_values

MAX_TEST_OPENIDS = 20


def kind_preview(uow: UnitOfWork, push: PushKind, who: str, cfg: Config
                 ) -> tuple[dict, Member | None]:
    """Use case (a read): the request body the kind would send to `who` (card number or
    openid); the kind's sample values when `who` is empty or no member."""
    member = None
    with uow.read() as session:
        if who.strip():
            member = (membership.by_card(session, who.strip())
                      or membership.by_openid(session, who.strip()))
        # A sample value named after a rule (birthday_points) is the rule's value now: a
        # preview never promises 20 points the programme gives 0 of.
        rules = {k: settings.get(session, k) for k in push.sample if k in settings.DEFAULTS}
        if "birthday_points" in push.sample:  # per tier: the member's, or 普通会员's
            rules["birthday_points"] = birthday_bonus.points_for_tier(
                session, member.tier if member else "normal")
    values = {**push.sample, **rules, **(member_values(cfg, member) if member else {})}
    return push.render(values, cfg.mini_appid), member


def parse_openids(text: str) -> list[str]:
    openids = [o for o in re.split(r"[\s,，]+", text.strip()) if o]
    bad = [o for o in openids if not OPENID_RE.match(o)]
    if not openids or bad or len(openids) > MAX_TEST_OPENIDS:
        raise InvalidCampaign(f"bad test openids {openids!r}",
                              user_message=f"请填写 1-{MAX_TEST_OPENIDS} 个测试 openid（逗号或换行分隔）。")
    return list(dict.fromkeys(openids))


def dry_run(uow: UnitOfWork, gateway, push: PushKind, openids: list[str], cfg: Config,
            tz: ZoneInfo, by: str, now: datetime | None = None,
            campaign_id: int | None = None) -> tuple[planners.PlanResult, deliveries.SendStats]:
    """Use case: send KIND (or campaign `campaign_id`'s message, whose kind `push` is) to
    test openids only, now (quiet hours still hold non-urgent messages), audited. The rows
    and the audit entry are one transaction; the sending that follows is `send_due`'s."""
    if push.disabled:
        raise planners.PushDisabled(push.disabled)
    now = now or utcnow()
    extra, label, target = None, f"console-{by}", push.kind
    with uow.write() as session:
        if campaign_id is not None:
            campaign = session.get(Campaign, campaign_id)
            if campaign is None or campaign.kind != push.kind:
                raise InvalidCampaign(f"no campaign {campaign_id} of kind {push.kind}",
                                      user_message="活动不存在。")
            template = (session.get(CouponTemplate, campaign.coupon_template_id)
                        if campaign.coupon_template_id else None)
            extra = campaign_values(push, campaign.message or "",
                                    templates.describe(template) if template else "")
            label, target = f"campaign-{campaign_id}", f"campaign:{campaign_id}"
        result = planners.plan_dry_run(session, push, label[:40], openids, cfg, now,
                                       extra=extra)
        audit.record(session, by, "campaign.dry_run", target, None,
                     {"openids": openids, "occasion": result.occasions[0]})
    stats = deliveries.send_due(uow, gateway, tz, kinds=[push.kind])
    return result, stats
