"""Coupon templates: what a coupon is worth, who may hold it and for how long.

Kinds (Chinese names as shops use them):
  amount_off  满减  `amount_off_fen` off an order of at least `min_spend_fen`
  percent_off 折扣  `percent_off` % off (rounded down to a whole fen), at most `cap_fen`
  item        兑换  a named item (`item`); redeeming it against an order discounts 0 fen

Validity: a fixed window (`valid_from` inclusive .. `valid_until` exclusive, UTC; the CLI
turns local dates into it) or `valid_days` × 24 h from the moment of issue. `min_tier`
restricts a template to members of that tier or above (checked when issuing and redeeming).
`store_ids` limits where its coupons can be used (none: every store; store_scope.py);
`stock_limit` caps how many are ever issued (None: unlimited; stock.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.models import Coupon, CouponTemplate
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.loyalty import tiers
from wx_member.coupons import store_scope
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

class InvalidTemplate(DomainError):
    code = "INVALID_TEMPLATE"
    user_message = "优惠券模板设置无效。"


class TemplateInUse(DomainError):
    code = "TEMPLATE_IN_USE"
    user_message = "该模板已有会员领取，不能修改。"


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
    stock_limit: int | None = None  # at most this many ever issued; None: unlimited
    store_ids: tuple[int, ...] = ()  # usable only in these stores; empty: every store

    def columns(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "store_ids"}


def _whole(value, name: str, minimum: int, words: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidTemplate(f"{name} must be a whole number >= {minimum}, got {value!r}",
                              user_message=words or "优惠券模板设置无效。")


def check(spec: TemplateSpec) -> None:
    if not spec.name.strip() or len(spec.name) > 60:
        raise InvalidTemplate("a name of 1 to 60 characters is required",
                              user_message="请填写券名称（1-60 个字）。")
    if spec.kind not in labels.COUPON_KINDS:
        raise InvalidTemplate(f"kind must be one of {', '.join(labels.COUPON_KINDS)}, got {spec.kind!r}",
                              user_message="请选择券类型（满减、折扣或兑换）。")
    _whole(spec.min_spend_fen, "min_spend_fen", 0, "使用门槛须为不小于 0 的金额。")
    if spec.kind == "amount_off":
        _whole(spec.amount_off_fen, "amount_off_fen", 1, "满减券须填写减免金额（至少 0.01 元）。")
        if spec.min_spend_fen and spec.amount_off_fen > spec.min_spend_fen:
            raise InvalidTemplate("amount_off above min_spend",
                                  user_message="减免金额不能大于使用门槛。")
    elif spec.kind == "percent_off":
        _whole(spec.percent_off, "percent_off", 1, "折扣券须填写折扣（如 8 折填 20，即减 20%）。")
        if spec.percent_off > 99:
            raise InvalidTemplate("percent_off must be 1..99",
                                  user_message="折扣须在 1%–99% 之间。")
        if spec.cap_fen is not None:
            _whole(spec.cap_fen, "cap_fen", 1, "最多减免金额须至少 0.01 元。")
    elif not (spec.item or "").strip() or len(spec.item) > 60:
        raise InvalidTemplate("an item coupon needs the item's name (1 to 60 characters)",
                              user_message="兑换券须填写兑换的商品（1-60 个字）。")
    if spec.min_tier is not None and spec.min_tier not in tiers.LADDER:
        raise InvalidTemplate(f"min_tier must be one of {', '.join(tiers.LADDER)}")
    window = spec.valid_from is not None or spec.valid_until is not None
    if window == (spec.valid_days is not None):
        raise InvalidTemplate("give either a fixed window (from and until) or a number of days",
                              user_message="有效期请填写天数，或起止日期（二选一）。")
    if window:
        if spec.valid_from is None or spec.valid_until is None or \
                spec.valid_until <= spec.valid_from:
            raise InvalidTemplate("a fixed window needs from < until",
                                  user_message="有效期的结束日期须晚于开始日期。")
    else:
        _whole(spec.valid_days, "valid_days", 1, "有效天数须至少 1 天。")
    check_limit(spec.stock_limit, 0)


def check_limit(limit, issued: int) -> None:
    """Raises unless `limit` (the most coupons ever issued) is None (unlimited) or a whole
    number not below `issued` (coupons/stock.py)."""
    if limit is None:
        return
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidTemplate(f"stock limit must be a whole number >= 1, got {limit!r}",
                              user_message="发放总量须为正整数，不限量请留空。")
    if limit < issued:
        raise InvalidTemplate(f"stock limit {limit} below {issued} issued",
                              user_message=f"已发出 {issued} 张，发放总量不能少于 {issued} 张。")


def remaining(template) -> int | None:
    """How many more coupons the template may issue (None: unlimited)."""
    if template.stock_limit is None:
        return None
    return max(template.stock_limit - template.issued_count, 0)


def _check_stores(session: Session, spec: TemplateSpec) -> None:
    if store_scope.known_store_ids(session, spec.store_ids) != set(spec.store_ids):
        raise InvalidTemplate(f"unknown stores in {spec.store_ids}",
                              user_message="所选门店不存在，请重新选择。")


def _audit_text(session: Session, template: CouponTemplate) -> dict:
    stores = store_scope.stores_of(session, [template.id]).get(template.id)
    return {"name": template.name, "text": describe(template),
            "stores": store_scope.where_text(stores),
            "limit": template.stock_limit if template.stock_limit is not None else "不限量"}


def add(uow: UnitOfWork, spec: TemplateSpec, by: str) -> CouponTemplate:
    """Use case: an operator defines a template (audited)."""
    check(spec)
    with uow.write() as session:
        _check_stores(session, spec)
        template = CouponTemplate(**spec.columns(), active=True, issued_count=0, created_by=by,
                                  created_at=utcnow())
        session.add(template)
        session.flush()
        store_scope.replace(session, template.id, spec.store_ids)
        audit.record(session, by, "coupon_template.create", f"coupon_template:{template.id}",
                     None, _audit_text(session, template))
        return template


def update(uow: UnitOfWork, template_id: int, spec: TemplateSpec, by: str) -> CouponTemplate:
    """Use case: an operator corrects a template no member holds yet (audited). Once a
    coupon is issued its terms are what the member was promised: refused."""
    check(spec)
    with uow.write() as session:
        template = session.get(CouponTemplate, template_id, with_for_update=True)
        if template is None:
            raise UnknownTemplate(f"no coupon template {template_id}")
        issued = session.scalar(select(func.count()).select_from(Coupon)
                                .where(Coupon.template_id == template_id))
        if issued:
            raise TemplateInUse(f"template {template_id} has {issued} coupons",
                                user_message=f"已发出 {issued} 张，不能再修改；可停止发放并新建模板。")
        _check_stores(session, spec)
        before = _audit_text(session, template)
        for key, value in spec.columns().items():
            setattr(template, key, value)
        store_scope.replace(session, template.id, spec.store_ids)
        audit.record(session, by, "coupon_template.update", f"coupon_template:{template.id}",
                     before, _audit_text(session, template))
        return template


def set_active(uow: UnitOfWork, template_id: int, active: bool, by: str = "cli") -> CouponTemplate:
    """Use case: stop (or resume) issuing a template. Coupons already issued stay valid."""
    with uow.write() as session:
        template = session.get(CouponTemplate, template_id, with_for_update=True)
        if template is None:
            raise UnknownTemplate(f"no coupon template {template_id}")
        if template.active != active:
            audit.record(session, by, "coupon_template.enable" if active
                         else "coupon_template.disable", f"coupon_template:{template.id}",
                         None, {"name": template.name})
        template.active = active
        return template


def all_templates(session: Session) -> list[CouponTemplate]:
    return list(session.scalars(select(CouponTemplate).order_by(CouponTemplate.id)))


def issuing(uow: UnitOfWork) -> list[CouponTemplate]:
    """Use case (a read): the templates that issue now, oldest first (what a campaign may
    attach)."""
    with uow.read() as session:
        return [t for t in all_templates(session) if t.active]


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
            "valid_days": t.valid_days, "active": t.active,
            "stock_limit": t.stock_limit, "issued": t.issued_count,
            "remaining": remaining(t)}


def store_ids(uow: UnitOfWork, codes: list[str]) -> tuple[int, ...]:
    """Use case (a read): the ids of the stores with these codes (the CLI's `--store`);
    InvalidTemplate names a code that is no store."""
    with uow.read() as session:
        found = store_scope.store_ids_by_code(session, codes)
    missing = sorted({c.strip().upper() for c in codes} - set(found))
    if missing:
        raise InvalidTemplate(f"no store {', '.join(missing)}",
                              user_message=f"门店 {'、'.join(missing)} 不存在。")
    return tuple(sorted(found.values()))


def by_id(uow: UnitOfWork, template_id: int) -> CouponTemplate | None:
    """Use case (a read): the template, whether or not it still issues (for showing what
    was chosen)."""
    with uow.read() as session:
        return session.get(CouponTemplate, template_id)
