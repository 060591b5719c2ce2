"""Programme rules that operators change at run time, stored in the `setting` table.

A missing row means the default below. Values are read per use case, so a change takes
effect on the next event without a restart.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.models import Setting, utcnow
from wx_member.services.errors import InvalidSetting

# Defaults follow ../shared/domain.md (a neighbourhood café).
DEFAULTS: dict[str, int] = {
    "signup_points": 10,  # once per member, on joining
    "referral_points": 10,  # to the referrer, once per referee
    "checkin_points": 1,  # daily check-in, once per local day
    # Payments and tiers (services/tiers.py): points per yuan at 普通会员, a tier's rate
    # as a percentage of that, and the cumulative spend (fen) at which each tier starts.
    "points_per_yuan": 1,
    "tier_silver_fen": 20000,
    "tier_gold_fen": 50000,
    "tier_diamond_fen": 100000,
    "tier_normal_rate": 100,
    "tier_silver_rate": 120,
    "tier_gold_rate": 150,
    "tier_diamond_rate": 200,
    # Pushes (services/deliveries.py, push_jobs.py): quiet hours, local, postpone pushes
    # that are not urgent (21 → 9 wraps midnight; equal hours: no quiet time), and the most
    # marketing pushes a member receives in any 7 days.
    "quiet_start_hour": 21,
    "quiet_end_hour": 9,
    "marketing_pushes_per_week": 2,
    # Points expiry (services/points_expiry.py), stamped on each lot when it is earned:
    # mode 0 = never, 1 = rolling (a lot lapses at the end of the local day
    # `points_expiry_months` after it was earned), 2 = yearly clearing (lots earned in local
    # year Y lapse at the end of month-day `points_expiry_mmdd` of Y+1; 1231 = 31 Dec).
    "points_expiry_mode": 1,
    "points_expiry_months": 12,
    "points_expiry_mmdd": 1231,
    # Redemption (services/redemption.py): points per yuan taken off an order, and the most
    # of an order's amount (percent) that points may pay.
    "points_cash_off_rate": 100,
    "points_cash_off_max_percent": 50,
}

# A tier ladder: each tier starts at a spend no lower than the one below it.
ASCENDING = ("tier_silver_fen", "tier_gold_fen", "tier_diamond_fen")


def _month_day(value: int) -> bool:
    try:  # a leap year: 229 is allowed, and lapses on 28 February in other years
        date(2000, value // 100, value % 100)
    except ValueError:
        return False
    return True


# Keys with a narrower range than "a non-negative integer": check, Chinese message.
VALID: dict[str, tuple[Callable[[int], bool], str]] = {
    "points_expiry_mode": (lambda v: v in (0, 1, 2),
                           "积分有效期方式只能是 0（永久）、1（滚动）或 2（按年清零）。"),
    "points_expiry_months": (lambda v: 1 <= v <= 120, "积分有效期须为 1 到 120 个月。"),
    "points_expiry_mmdd": (_month_day, "清零日期须为有效的月日，如 1231。"),
    "points_cash_off_rate": (lambda v: v >= 1, "抵现比例须至少为 1 积分/元。"),
    "points_cash_off_max_percent": (lambda v: v <= 100, "抵现上限不能超过订单金额的 100%。"),
}


def get(session: Session, key: str) -> int:
    if key not in DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}")
    value = session.scalar(select(Setting.value).where(Setting.key == key))
    return DEFAULTS[key] if value is None else value


def all_settings(session: Session) -> dict[str, int]:
    stored = {key: value for key, value in session.execute(select(Setting.key, Setting.value))}
    return {k: stored.get(k, v) for k, v in DEFAULTS.items()}


def change(session: Session, key: str, value: int, by: str) -> None:
    """Use case: an operator changes one rule."""
    if key not in DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidSetting(f"{key} must be a non-negative integer, got {value!r}")
    if key in VALID and not VALID[key][0](value):
        raise InvalidSetting(f"{key}: {value} is out of range", user_message=VALID[key][1])
    with session.begin():
        if key in ASCENDING:
            ladder = [value if k == key else get(session, k) for k in ASCENDING]
            if ladder != sorted(ladder):
                raise InvalidSetting(f"tier thresholds must not decrease: "
                                     f"{dict(zip(ASCENDING, ladder))}",
                                     user_message="等级门槛必须逐级递增。")
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value, updated_by=by))
        else:
            row.value, row.updated_by, row.updated_at = value, by, utcnow()
