"""Daily check-in (签到): points once per calendar day in the programme's time zone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wx_member.clock import local_day
from wx_member.models import Member
from wx_member.loyalty import points
from wx_member.platform import settings


@dataclass(frozen=True)
class CheckinResult:
    awarded: int  # 0 when already checked in today (or check-in points are set to 0)
    already: bool
    balance: int
    local_day: str


def check_in(session: Session, member: Member, at_utc: datetime, tz: ZoneInfo) -> CheckinResult:
    """Runs in the caller's transaction. `at_utc` is when the member tapped 签到."""
    day = local_day(at_utc, tz).isoformat()
    reward = settings.get(session, "checkin_points")
    row = points.post(session, member, reward, "checkin", f"checkin:{member.id}:{day}",
                      source=day, now=at_utc) if reward else None
    already = reward > 0 and row is None
    return CheckinResult(reward if row else 0, already, member.points_balance, day)
