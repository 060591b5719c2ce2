"""The tier ladder as operators set it (the console's 会员等级 screen): per tier its
threshold (fen), earn rate (%), birthday points, birthday coupon template and monthly
coupon template (每月礼券); for the programme its review mode and spend window. The values are settings (platform/settings.py),
read by tiers.py, tier_review.py, birthday_bonus.py and coupons/bulk_issue.py on the next
event; a save writes only what changed, each key audited before → after (`setting.change`),
all of a tier in one transaction.

Sanity checks, in Chinese: thresholds strictly increasing up the ladder (an equal or lower
threshold would make a tier unreachable); a threshold under 10 yuan is usually fen typed
for yuan (200 for ¥200), so it is refused with LowThreshold until the operator confirms it;
a birthday or monthly coupon newly chosen must be an active template the tier may hold (not
one for a higher tier).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.models import CouponTemplate, Member
from wx_member.loyalty import birthday_bonus, tiers
from wx_member.platform import settings
from wx_member.platform.errors import DomainError

LOW_THRESHOLD_FEN = 1000  # ¥10
MAX_RATE = 1000  # %: ten times the base
MAX_BIRTHDAY_POINTS = 100_000


class InvalidTier(DomainError):
    code = "INVALID_TIER"
    user_message = "会员等级设置无效。"


class LowThreshold(DomainError):
    """A threshold under ¥10: saved only when the operator confirms it."""
    code = "LOW_THRESHOLD"
    user_message = "等级门槛低于 10 元，请确认。"


@dataclass(frozen=True)
class TierSpec:
    tier: str
    threshold_fen: int | None  # None for 普通会员 (no threshold)
    rate: int  # % of points_per_yuan
    birthday_points: int
    birthday_template: int  # coupon template id, 0: none
    monthly_template: int = 0  # 每月礼券: coupon template id, 0: none


@dataclass(frozen=True)
class TierRow:
    spec: TierSpec
    members: int
    coupon_reachable: bool  # False: the birthday coupon is for higher tiers (none is issued)
    monthly_reachable: bool = True  # the same for the monthly coupon


@dataclass(frozen=True)
class Ladder:
    rows: list[TierRow]
    points_per_yuan: int
    review: str  # settings.CHOICES["tier_review"]
    window_months: int  # 0: cumulative spend


def _spec(session, tier: str) -> TierSpec:
    return TierSpec(tier, None if tier == "normal" else tiers.threshold_fen(session, tier),
                    tiers.rate_percent(session, tier), birthday_bonus.points_for_tier(session, tier),
                    settings.get(session, f"tier_{tier}_birthday_coupon_template"),
                    settings.get(session, f"tier_{tier}_monthly_coupon_template"))


def ladder(uow: UnitOfWork) -> Ladder:
    """Use case (a read): every tier with its rules and how many members hold it now."""
    with uow.read() as session:
        counts = dict(session.execute(select(Member.tier, func.count()).group_by(Member.tier)).all())
        specs = [_spec(session, tier) for tier in tiers.LADDER]
        rows = [TierRow(spec, counts.get(spec.tier, 0),
                        _reachable(session, spec.tier, spec.birthday_template),
                        _reachable(session, spec.tier, spec.monthly_template)) for spec in specs]
        return Ladder(rows, settings.get(session, "points_per_yuan"),
                      settings.get(session, "tier_review"),
                      settings.get(session, "tier_window_months"))


def _reachable(session, tier: str, template_id: int) -> bool:
    template = session.get(CouponTemplate, template_id) if template_id else None
    return not (template and template.min_tier
                and tiers.rank(template.min_tier) > tiers.rank(tier))


def _keys(spec: TierSpec) -> dict[str, int]:
    values = {f"tier_{spec.tier}_rate": spec.rate,
              f"tier_{spec.tier}_birthday_points": spec.birthday_points,
              f"tier_{spec.tier}_birthday_coupon_template": spec.birthday_template,
              f"tier_{spec.tier}_monthly_coupon_template": spec.monthly_template}
    if spec.tier != "normal":
        values[f"tier_{spec.tier}_fen"] = spec.threshold_fen
    return values


def _check(session, spec: TierSpec, low_confirmed: bool) -> None:
    name = tier_name(spec.tier)
    if not 0 <= spec.rate <= MAX_RATE:
        raise InvalidTier(f"rate {spec.rate}", user_message=f"{name}的积分倍率须为 0–{MAX_RATE} 的"
                          "整数（100 表示按基础积分，120 表示 1.2 倍）。")
    if not 0 <= spec.birthday_points <= MAX_BIRTHDAY_POINTS:
        raise InvalidTier(f"birthday points {spec.birthday_points}",
                          user_message=f"生日积分须为 0–{MAX_BIRTHDAY_POINTS} 的整数。")
    if spec.tier != "normal":
        fen = spec.threshold_fen
        if fen is None or fen <= 0:
            raise InvalidTier(f"threshold {fen}", user_message=f"请填写{name}的门槛（元，大于 0）。")
        ladder_fen = {t: fen if t == spec.tier else tiers.threshold_fen(session, t)
                      for t in tiers.LADDER[1:]}
        values = list(ladder_fen.values())
        if any(lower >= higher for lower, higher in zip(values, values[1:])):
            text = "，".join(f"{tier_name(t)} {v / 100:.2f} 元" for t, v in ladder_fen.items())
            raise InvalidTier(f"ladder not increasing: {ladder_fen}",
                              user_message=f"等级门槛必须逐级递增（保存后将是：{text}）。")
        if fen < LOW_THRESHOLD_FEN and not low_confirmed:
            raise LowThreshold(f"threshold {fen} fen", user_message=(
                f"{name}门槛 {fen / 100:.2f} 元低于 10 元：是否把金额按“分”填了？"
                f"（门槛按元填写，如 200 元）确认无误请再点“仍然保存”。"))
    _check_template(session, spec.tier, "birthday", spec.birthday_template)
    _check_template(session, spec.tier, "monthly", spec.monthly_template)


def _check_template(session, tier: str, gift: str, template_id: int) -> None:
    """A template newly chosen as the tier's `gift` coupon must be active and one the tier
    may hold (the one carried over from the single birthday rule stays, shown as
    本等级领不到, until the operator changes it)."""
    if not template_id or template_id == settings.get(session, f"tier_{tier}_{gift}_coupon_template"):
        return
    template = session.get(CouponTemplate, template_id)
    if template is None:
        raise InvalidTier(f"no template {template_id}", user_message="优惠券模板不存在。")
    if not template.active:
        raise InvalidTier(f"template {template_id} disabled",
                          user_message=f"「{template.name}」已停发，请另选。")
    if not _reachable(session, tier, template_id):
        raise InvalidTier(f"template {template.id} needs {template.min_tier}", user_message=(
            f"「{template.name}」限{tier_name(template.min_tier)}及以上，"
            f"{tier_name(tier)}领不到，请另选。"))


def save_tier(uow: UnitOfWork, spec: TierSpec, by: str, low_confirmed: bool = False) -> list[str]:
    """Use case: an operator saves one tier's rules. Writes the keys that changed (each
    audited) and returns them; raises InvalidTier or LowThreshold, writing nothing."""
    if spec.tier not in tiers.LADDER:
        raise InvalidTier(f"unknown tier {spec.tier!r}", user_message="没有这个会员等级。")
    values = _keys(spec)
    for key, value in values.items():
        settings.check(key, value, low_threshold_ok=True)  # the low threshold is ours to ask
    with uow.write() as session:
        _check(session, spec, low_confirmed)
        changed = [key for key, value in values.items() if settings.get(session, key) != value]
        for key in changed:
            settings.write(session, key, values[key], by)
        return changed


def save_review(uow: UnitOfWork, review: str, window_months: int, by: str) -> list[str]:
    """Use case: the review mode (never | yearly) and the spend window (0: cumulative)."""
    values = {"tier_review": review, "tier_window_months": window_months}
    for key, value in values.items():
        settings.check(key, value)
    with uow.write() as session:
        changed = [key for key, value in values.items() if settings.get(session, key) != value]
        for key in changed:
            settings.write(session, key, values[key], by)
        return changed
