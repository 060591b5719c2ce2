"""Coupon templates: what a coupon is worth, who may hold it and for how long.

Kinds (Chinese names as shops use them):
  amount_off  满减  `amount_off_fen` off an order of at least `min_spend_fen`
  percent_off 折扣  `percent_off` % off (rounded down to a whole fen), at most `cap_fen`
  item        兑换  a named item (`item`); redeeming it against an order discounts 0 fen

Validity: a fixed window (`valid_from` inclusive .. `valid_until` exclusive, UTC; the CLI
turns local dates into it) or `valid_days` × 24 h from the moment of issue. `min_tier`
restricts a template to members of that tier or above (checked when issuing and redeeming).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.models import CouponTemplate
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.loyalty import tiers
from wx_member.platform.errors import DomainError

class InvalidTemplate(DomainError):
    code = "INVALID_TEMPLATE"
    user_message = "优惠券模板设置无效。"


class UnknownTemplate(DomainError):
    code = "UNKNOWN_TEMPLATE"
    user_message = "优惠券模板不存在或已停用。"


@dataclass
class TemplateSpec:
    """What an operator asks for; `add` checks it before anything is written."""
    name: str
    kind: str
    min_spend_fen: int = 0
    amount_off_fen: int | None = None
    percent_off: int | None = None
    cap_fen: int | None = None
    item: str | None = None
    min_tier: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None


def _whole(value, name: str, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidTemplate(f"{name} must be a whole number >= {minimum}, got {value!r}")


def check(spec: TemplateSpec) -> None:
    if not spec.name.strip() or len(spec.name) > 60:
        raise InvalidTemplate("a name of 1 to 60 characters is required")
    if spec.kind not in labels.COUPON_KINDS:
        raise InvalidTemplate(f"kind must be one of {', '.join(labels.COUPON_KINDS)}, got {spec.kind!r}")
    _whole(spec.min_spend_fen, "min_spend_fen", 0)
    if spec.kind == "amount_off":
        _whole(spec.amount_off_fen, "amount_off_fen", 1)
    elif spec.kind == "percent_off":
        _whole(spec.percent_off, "percent_off", 1)
        if spec.percent_off > 99:
            raise InvalidTemplate("percent_off must be 1..99")
        if spec.cap_fen is not None:
            _whole(spec.cap_fen, "cap_fen", 1)
    elif not (spec.item or "").strip() or len(spec.item) > 60:
        raise InvalidTemplate("an item coupon needs the item's name (1 to 60 characters)")
    if spec.min_tier is not None and spec.min_tier not in tiers.LADDER:
        raise InvalidTemplate(f"min_tier must be one of {', '.join(tiers.LADDER)}")
    window = spec.valid_from is not None or spec.valid_until is not None
    if window == (spec.valid_days is not None):
        raise InvalidTemplate("give either a fixed window (from and until) or a number of days")
    if window:
        if spec.valid_from is None or spec.valid_until is None or \
                spec.valid_until <= spec.valid_from:
            raise InvalidTemplate("a fixed window needs from < until")
    else:
        _whole(spec.valid_days, "valid_days", 1)


def add(session: Session, spec: TemplateSpec, by: str) -> CouponTemplate:
    """Use case: an operator defines a template."""
    check(spec)
    with session.begin():
        template = CouponTemplate(**vars(spec), active=True, created_by=by, created_at=utcnow())
        session.add(template)
        session.flush()
        return template


def set_active(session: Session, template_id: int, active: bool) -> CouponTemplate:
    """Use case: stop (or resume) issuing a template. Coupons already issued stay valid."""
    with session.begin():
        template = session.get(CouponTemplate, template_id, with_for_update=True)
        if template is None:
            raise UnknownTemplate(f"no coupon template {template_id}")
        template.active = active
        return template


def all_templates(session: Session) -> list[CouponTemplate]:
    return list(session.scalars(select(CouponTemplate).order_by(CouponTemplate.id)))


def active(session: Session, template_id: int) -> CouponTemplate:
    template = session.get(CouponTemplate, template_id)
    if template is None or not template.active:
        raise UnknownTemplate(f"coupon template {template_id} does not exist or is disabled")
    return template


def validity(template: CouponTemplate, issued_at: datetime) -> tuple[datetime, datetime]:
    if template.valid_days is not None:
        return issued_at, issued_at + timedelta(days=template.valid_days)
    return template.valid_from, template.valid_until


def tier_allows(template: CouponTemplate, tier: str) -> bool:
    return template.min_tier is None or tiers.rank(tier) >= tiers.rank(template.min_tier)


def discount_fen(template: CouponTemplate, amount_fen: int) -> int:
    """What the coupon takes off an order of `amount_fen` (never more than the order)."""
    if template.kind == "amount_off":
        off = template.amount_off_fen
    elif template.kind == "percent_off":
        off = amount_fen * template.percent_off // 100
        if template.cap_fen is not None:
            off = min(off, template.cap_fen)
    else:
        off = 0
    return min(off, amount_fen)


def _yuan(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


def describe(template: CouponTemplate) -> str:
    """The coupon in a member's words, e.g. 满50减10, 8折（最多减20元）, 兑换：中杯咖啡."""
    if template.kind == "amount_off":
        text = (f"满{_yuan(template.min_spend_fen)}减{_yuan(template.amount_off_fen)}"
                if template.min_spend_fen else f"{_yuan(template.amount_off_fen)}元代金券")
    elif template.kind == "percent_off":
        pays = 100 - template.percent_off
        text = f"{pays // 10}{pays % 10 or ''}折"
        if template.min_spend_fen:
            text = f"满{_yuan(template.min_spend_fen)}享{text}"
        if template.cap_fen:
            text += f"（最多减{_yuan(template.cap_fen)}元）"
    else:
        text = f"兑换：{template.item}"
    if template.min_tier:
        text += f"，限{tier_name(template.min_tier)}及以上"
    return text


def as_dict(t: CouponTemplate) -> dict:
    return {"id": t.id, "name": t.name, "kind": t.kind, "kind_zh": labels.COUPON_KINDS[t.kind],
            "text": describe(t), "min_spend_fen": t.min_spend_fen,
            "amount_off_fen": t.amount_off_fen, "percent_off": t.percent_off,
            "cap_fen": t.cap_fen, "item": t.item, "min_tier": t.min_tier,
            "valid_from": t.valid_from.isoformat() + "Z" if t.valid_from else None,
            "valid_until": t.valid_until.isoformat() + "Z" if t.valid_until else None,
            "valid_days": t.valid_days, "active": t.active}


def by_id(session: Session, template_id: int) -> CouponTemplate | None:
    """The template, whether or not it still issues (for showing what was chosen)."""
    return session.get(CouponTemplate, template_id)
