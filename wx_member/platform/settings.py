"""Programme rules that operators change at run time, stored in the `setting` table.

A missing row means the default below. Values are read per use case, so a change takes
effect on the next event without a restart.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member import statements
from wx_member.db import UnitOfWork
from wx_member.models import CouponTemplate, Setting
from wx_member.platform import audit
from wx_member.platform.errors import InvalidSetting

# Defaults: a neighbourhood café's programme (the demo's; operators change them).
DEFAULTS: dict[str, int | str] = {
    "signup_points": 10,  # once per member, on joining
    "referral_points": 10,  # to the referrer, once per referee (referral_mode fixed)
    # Referral reward (members/referrals.py): `fixed` = referral_points when the referee
    # joins; `percent` = referral_percent % of the points each of the referee's first
    # referral_orders orders earns, credited on each payment, reversed on its refunds.
    "referral_mode": "fixed",
    "referral_percent": 10,
    "referral_orders": 3,
    "checkin_points": 1,  # daily check-in, once per local day
    # Payments and tiers (loyalty/tiers.py): points per yuan at 普通会员, a tier's rate
    # as a percentage of that, and the cumulative spend (fen) at which each tier starts.
    "points_per_yuan": 1,
    "tier_silver_fen": 20000,
    "tier_gold_fen": 50000,
    "tier_diamond_fen": 100000,
    "tier_normal_rate": 100,
    "tier_silver_rate": 120,
    "tier_gold_rate": 150,
    "tier_diamond_rate": 200,
    # Tier basis (loyalty/tiers.py): 0 = cumulative spend; N = spend in the last N months.
    "tier_window_months": 0,
    # Downgrade review (loyalty/tier_review.py): `never`, or `yearly` on the anniversary
    # of the day a member reached their tier.
    "tier_review": "never",
    # Pushes (pushes/deliveries.py, pushes/planners.py): quiet hours, local, postpone pushes
    # that are not urgent (21 → 9 wraps midnight; equal hours: no quiet time), and the most
    # marketing pushes a member receives in any 7 days.
    "quiet_start_hour": 21,
    "quiet_end_hour": 9,
    "marketing_pushes_per_week": 2,
    # Win-back (pushes/order_planners.py): members without an order for this many days
    # get 好久不见, at most once per this many days; 0 turns it off.
    "winback_days": 60,
    # Coupons (coupons/wallet.py): the template issued on joining, by id (0: none). The
    # default is the migration's 10-yuan sign-up voucher.
    "signup_coupon_template": 1,
    # Points expiry (loyalty/points_expiry.py), stamped on each lot when it is earned:
    # mode 0 = never, 1 = rolling (a lot lapses at the end of the local day
    # `points_expiry_months` after it was earned), 2 = yearly clearing (lots earned in local
    # year Y lapse at the end of month-day `points_expiry_mmdd` of Y+1; 1231 = 31 Dec).
    "points_expiry_mode": 1,
    "points_expiry_months": 12,
    "points_expiry_mmdd": 1231,
    # Redemption (loyalty/redemption.py): points per yuan taken off an order, and the most
    # of an order's amount (percent) that points may pay.
    "points_cash_off_rate": 100,
    "points_cash_off_max_percent": 50,
    # Win-back (pushes/order_planners.py: winback_offer): the template issued with each
    # 好久不见 message, once per member and occasion (0: none).
    "winback_coupon_template": 0,
    # Mass sends (群发, pushes/reach.py): how many a follower may receive in a local
    # calendar month (WeChat: 4 for a 服务号); a member at the limit is not sent one.
    "mass_sends_per_month": 4,
    # Refunds of a paid membership (付费会员, payments/membership_refunds.py): `prorata`
    # (the unused whole days' share of the price) or `never`.
    "paid_membership_refund": "prorata",
    # Stored value (pushes/balance_notices.py): a payment taking the balance below this
    # many fen sends the 余额不足提醒 notice, once per crossing (0: never).
    "balance_low_fen": 0,
}

# Birthday gifts per tier (loyalty/birthday_bonus.py, coupons/bulk_issue.py), set on the
# console's tiers screen: points once a year in the birthday month to subscribed members
# with a birthday set (0 = none), and a coupon template on the birthday (0 = none). The
# defaults are the single rules they replaced (migration 0029): no points, and the
# migration's birthday coffee (for 银卡 and up: a 普通会员 is not given it).
BIRTHDAY_TIERS = ("normal", "silver", "gold", "diamond")
for _tier in BIRTHDAY_TIERS:
    DEFAULTS[f"tier_{_tier}_birthday_points"] = 0
    DEFAULTS[f"tier_{_tier}_birthday_coupon_template"] = 5
# 每月礼券 per tier (coupons/bulk_issue.py: issue_monthly_gifts), also on the tiers screen:
# a coupon template each member of the tier is given once per local month (0 = none).
for _tier in BIRTHDAY_TIERS:
    DEFAULTS[f"tier_{_tier}_monthly_coupon_template"] = 0

# Settings whose value is one of a few words rather than a number.
CHOICES: dict[str, tuple[str, ...]] = {
    "referral_mode": ("fixed", "percent"),
    "tier_review": ("never", "yearly"),
    "paid_membership_refund": ("prorata", "never"),
}
# Upper bounds where a larger number is a typo rather than a rule.
MAXIMUM: dict[str, int] = {"referral_percent": 100, "tier_window_months": 120}

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
    # A threshold under 10 yuan is a fen-for-yuan slip (200 typed for 200 yuan), not a rule.
    **{key: (lambda v: v >= 1000, "等级门槛不能低于 10 元（请按元填写，如 200 元）。")
       for key in ("tier_silver_fen", "tier_gold_fen", "tier_diamond_fen")},
}


# session.info key: (the transaction, every setting's value as read in it).
_READ = "wx_settings"
_ALL = select(Setting.__table__.c.key, Setting.__table__.c.value)  # built once: every event reads it


def get(session: Session, key: str):
    """The value of `key` (an int, or a word for the keys in CHOICES)."""
    if key not in DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}")
    return _values(session)[key]


def all_settings(session: Session) -> dict[str, int | str]:
    return dict(_values(session))


def _values(session: Session) -> dict[str, int | str]:
    """Every setting, read with one query once per transaction: a use case consulting
    several rules (a join reads six) pays one round trip, and sees them all as of one
    moment. The next transaction reads afresh, so a change applies from the next event."""
    read, now_in = session.info.get(_READ), session.get_transaction()
    if read is not None and now_in is not None and read[0] is now_in:
        return read[1]
    stored = {key: value for key, value in statements.fetch(session, _ALL)}
    values = {k: stored.get(k, v) for k, v in DEFAULTS.items()}
    session.info[_READ] = (session.get_transaction(), values)
    return values


def parse(key: str, text: str) -> int | str:
    """An operator's typed value (the CLI's VALUE) as the setting's type; raises
    InvalidSetting for an unknown key or a value of the wrong kind."""
    if key not in DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
    if key in CHOICES:
        return text.strip()
    try:
        return int(text)
    except ValueError:
        raise InvalidSetting(f"{key} must be a non-negative integer, got {text!r}") from None


def check(key: str, value, low_threshold_ok: bool = False) -> None:
    """Refuse a value of the wrong kind or range (InvalidSetting, Chinese message).
    `low_threshold_ok`: a tier threshold under 10 yuan the operator confirmed."""
    if key not in DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise InvalidSetting(f"{key} must be one of {', '.join(CHOICES[key])}, "
                                 f"got {value!r}")
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidSetting(f"{key} must be a non-negative integer, got {value!r}")
    if key in MAXIMUM and value > MAXIMUM[key]:
        raise InvalidSetting(f"{key} must be at most {MAXIMUM[key]}, got {value}")
    if low_threshold_ok and key in ASCENDING:
        return
    if key in VALID and not VALID[key][0](value):
        raise InvalidSetting(f"{key}: {value} is out of range", user_message=VALID[key][1])


def write(session: Session, key: str, value: int | str, by: str) -> None:
    """Store one checked rule inside the caller's transaction, audited before → after."""
    if key.endswith("_coupon_template") and value and session.get(CouponTemplate, value) is None:
        raise InvalidSetting(f"{key}: no coupon template {value}",
                             user_message="优惠券模板不存在。")
    row = session.get(Setting, key)
    before = DEFAULTS[key] if row is None else row.value
    if row is None:
        session.add(Setting(key=key, value=value, updated_by=by))
    else:
        row.value, row.updated_by, row.updated_at = value, by, utcnow()
    audit.record(session, by, "setting.change", key, before, value)
    session.info.pop(_READ, None)  # later reads in this transaction see the new value


def change(uow: UnitOfWork, key: str, value: int | str, by: str) -> None:
    """Use case: an operator changes one rule; the change is in the audit log."""
    check(key, value)
    with uow.write() as session:
        if key in ASCENDING:
            ladder = [value if k == key else get(session, k) for k in ASCENDING]
            if ladder != sorted(ladder):
                raise InvalidSetting(f"tier thresholds must not decrease: "
                                     f"{dict(zip(ASCENDING, ladder))}",
                                     user_message="等级门槛必须逐级递增。")
        write(session, key, value, by)
