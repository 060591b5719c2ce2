"""Campaigns from the console, first step: a push kind previewed for a sample member and
sent as a dry run to test openids (services/push_jobs.dry_run), audited.

Not built yet: choosing a segment, scheduling and progress of a real campaign.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wx_member.config import Config
from wx_member.models import Member, utcnow
from wx_member.pushes.definitions import PushKind
from wx_member.replies import tier_name
from wx_member.services import audit, deliveries, members, push_jobs
from wx_member.services.errors import DomainError

OPENID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MAX_TEST_OPENIDS = 20


class InvalidCampaign(DomainError):
    user_message = "活动参数无效。"


def preview(session: Session, push: PushKind, who: str, cfg: Config) -> tuple[dict, Member | None]:
    """The request body the kind would send to `who` (card number or openid); the kind's
    sample values when `who` is empty or no member."""
    member = None
    if who.strip():
        member = members.by_card(session, who.strip()) or members.by_openid(session, who.strip())
    values = dict(push.sample)
    if member is not None:
        values.update(programme=cfg.programme_name, card_no=member.card_no or "",
                      tier=tier_name(member.tier), points=member.points_balance)
    return push.render(values, cfg.mini_appid), member


def parse_openids(text: str) -> list[str]:
    openids = [o for o in re.split(r"[\s,，]+", text.strip()) if o]
    bad = [o for o in openids if not OPENID_RE.match(o)]
    if not openids or bad or len(openids) > MAX_TEST_OPENIDS:
        raise InvalidCampaign(f"bad test openids {openids!r}",
                              user_message=f"请填写 1-{MAX_TEST_OPENIDS} 个测试 openid（逗号或换行分隔）。")
    return list(dict.fromkeys(openids))


def dry_run(session: Session, gateway, push: PushKind, openids: list[str], cfg: Config,
            tz: ZoneInfo, by: str, now: datetime | None = None
            ) -> tuple[push_jobs.PlanResult, deliveries.SendStats]:
    """Use case: send KIND to test openids only, now (quiet hours still hold non-urgent
    messages), and record who did it."""
    if push.disabled:
        raise push_jobs.PushDisabled(push.disabled)
    now = now or utcnow()
    session.rollback()
    result = push_jobs.dry_run(session, push, f"console-{by}"[:40], openids, cfg, now)
    with session.begin():
        audit.record(session, by, "campaign.dry_run", push.kind, None,
                     {"openids": openids, "occasion": result.occasions[0]})
    stats = deliveries.send_due(session, gateway, tz, kinds=[push.kind])
    return result, stats
