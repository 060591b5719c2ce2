"""What a basket costs a member at the till: rule functions, writing nothing. The quote
(payments/till_orders.py `quote`) and recording the purchase call the same functions, so a
purchase recorded when nothing changed costs exactly what it was quoted.

The order of application, per line and then per order:

1. **One benefit per line, the best**: the line's list amount (quantity × unit price) is
   compared with each benefit that applies to it, and the lowest wins; benefits never stack
   (a member price is not discounted again, a member-day discount replaces the tier
   discount rather than multiplying it):
   - member price: the price list's price for the member's tier (else for the nearest
     tier below that has one) × quantity, exact;
   - tier discount: the list amount × the tier's percent, unless the line's category is
     excluded;
   - member day: the list amount × the best discount of the member days of that local day
     (weekday or day of the month, for the member's tier or all) that do not exclude the
     category.
   A percentage is applied to the line's whole list amount and rounded **half up to a whole
   fen** once per line: (amount × percent + 50) ÷ 100. Ties go to member price, then member
   day, then tier discount. A walk-in (no member) pays list prices.
2. **Coupons**, in the order given, each on what is left after the ones before it
   (its minimum spend is checked against that amount; a coupon limited to other stores is
   refused, and not offered in the quote): coupons/templates.py
   `discount_fen` (满减 exact, 折扣 rounded **down** to a whole fen, never more than is left).
3. **Points as cash off** on what is left after the coupons: loyalty/redemption.py
   `cash_off_quote` (at most `points_cash_off_max_percent` % of it; the fen off rounded
   **down**, the points it costs rounded **up**).
4. **Payable** = lines − coupons − points' fen: what the payment parts must add up to. The
   purchase earns points on it (money, the stored-value balance included; not on coupons
   or points), at the tier held and the day's multiplier: the highest of the day's earn
   rule and the member days' multipliers, never stacked; rounded **down** once
   (loyalty/tiers.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.coupons import redeeming, templates, wallet
from wx_member.coupons.refusals import CouponNotFound, CouponNotYours, CouponRefused
from wx_member.loyalty import earn_rules, redemption, tiers
from wx_member.models import Coupon, CouponTemplate, Member, MemberDay, MemberPrice, TierDiscount
from wx_member.platform import settings
from wx_member.platform.errors import UnknownMember

# Stated in every quote: how each figure was rounded.
ROUNDING = {
    "line_discount": "half_up_fen",  # (list amount × percent + 50) // 100, once per line
    "member_price": "exact",
    "coupon_percent_off": "down_fen",
    "points_cash_off": "fen_down_points_up",
    "points_earned": "down",
}
BENEFIT_ORDER = ("member_price", "member_day", "tier")  # who wins a tie


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_fen: int


@dataclass(frozen=True)
class PricedLine:
    line: Line
    list_fen: int
    amount_fen: int
    benefit: str | None  # member_price | member_day | tier | None
    detail: str | None  # e.g. "95%" or "member price 1800"

    def as_dict(self) -> dict:
        return {"sku": self.line.sku, "name": self.line.name, "category": self.line.category,
                "quantity": self.line.quantity, "unit_price_fen": self.line.unit_price_fen,
                "list_fen": self.list_fen, "amount_fen": self.amount_fen,
                "saving_fen": self.list_fen - self.amount_fen, "benefit": self.benefit,
                "benefit_detail": self.detail}


@dataclass(frozen=True)
class Benefits:
    """What applies to one member on one local day: read once, applied to every line."""
    tier_percent: int = 100
    tier_excluded: frozenset = frozenset()
    days: tuple = ()  # (name, discount percent, excluded categories), discounting days only
    prices: dict = field(default_factory=dict)  # sku -> member price (fen)
    points_percent: int = earn_rules.BASE  # the best member day's multiplier (100: none)


def day_matches(row, day: date) -> bool:
    """`row`: a member day (its kind and day)."""
    return (row.kind == "weekday" and row.day == day.isoweekday()) or \
        (row.kind == "monthday" and row.day == day.day)


def member_days_of(session: Session, tier: str) -> list[MemberDay]:
    """The member days in force for a member of `tier`: their tier's and everyone's."""
    return list(session.scalars(select(MemberDay).where(
        MemberDay.enabled.is_(True), or_(MemberDay.tier.is_(None), MemberDay.tier == tier))
        .order_by(MemberDay.id)))


@dataclass(frozen=True)
class DayBenefits:
    """What a tier's member days give on one local day (the quote's and the calendar's)."""
    discounts: tuple  # (name, discount percent, excluded categories), discounting days only
    points_percent: int  # the best member day's multiplier (100: none)
    points_name: str | None  # that member day's name


def day_benefits(rows: list[MemberDay], day: date) -> DayBenefits:
    """Of one tier's member days (`member_days_of`), those on local date `day`."""
    days = [r for r in rows if day_matches(r, day)]
    best = max((r for r in days if r.points_percent), key=lambda r: r.points_percent,
               default=None)
    return DayBenefits(tuple((r.name, r.discount_percent, frozenset(r.excluded_categories))
                             for r in days if r.discount_percent),
                       best.points_percent if best else earn_rules.BASE,
                       best.name if best else None)


_T, _D, _P = TierDiscount.__table__, MemberDay.__table__, MemberPrice.__table__
# Built once (every quote and purchase reads them), read as rows, not ORM objects: the
# tier's discount and the member days that may apply to it in ONE statement (the first
# column tells them apart), then the member prices of the basket's SKUs.
_TIER_AND_DAYS = union_all(
    select(literal("tier").label("source"), _T.c.percent, _T.c.excluded_categories,
           null().label("name"), null().label("kind"), null().label("day"),
           null().label("points_percent"))
    .where(_T.c.tier == bindparam("tier")),
    select(literal("day"), _D.c.discount_percent, _D.c.excluded_categories, _D.c.name,
           _D.c.kind, _D.c.day, _D.c.points_percent)
    .where(_D.c.enabled.is_(True), or_(_D.c.tier.is_(None), _D.c.tier == bindparam("tier"))))
_PRICES = select(_P.c.sku, _P.c.tier, _P.c.price_fen).where(
    _P.c.sku.in_(bindparam("skus", expanding=True)),
    _P.c.tier.in_(bindparam("ladder", expanding=True)))


def benefits_for(session: Session, tier: str | None, day: date, skus) -> Benefits:
    """The benefits of a member of `tier` on local date `day` for the given SKUs (None:
    a walk-in, no benefits)."""
    if tier is None:
        return Benefits()
    discount, days = None, []
    for row in statements.fetch(session, _TIER_AND_DAYS, {"tier": tier}):
        if row.source == "tier":
            discount = row
        elif day_matches(row, day):
            days.append(row)
    # The member's tier and those below it: the nearest tier's price wins.
    ladder = tiers.LADDER[:tiers.rank(tier) + 1]
    prices: dict[str, tuple[int, int]] = {}
    named = sorted({sku for sku in skus if sku})  # a line without a SKU has no member price
    for sku, row_tier, price in statements.rows(session, _PRICES, {
            "skus": named, "ladder": list(ladder)}) if named else ():
        rank = tiers.rank(row_tier)
        if sku not in prices or rank > prices[sku][0]:
            prices[sku] = (rank, price)
    return Benefits(
        tier_percent=discount.percent if discount else 100,
        tier_excluded=frozenset(discount.excluded_categories or () if discount else ()),
        days=tuple((r.name, r.percent, frozenset(r.excluded_categories or ()))
                   for r in days if r.percent),
        prices={sku: price for sku, (_, price) in prices.items()},
        points_percent=max([r.points_percent for r in days if r.points_percent],
                           default=earn_rules.BASE))


def percent_of(amount_fen: int, percent: int) -> int:
    """`percent` % of `amount_fen`, rounded half up to a whole fen."""
    return (amount_fen * percent + 50) // 100


def price_line(benefits: Benefits, line: Line) -> PricedLine:
    """One line at its best benefit (module docstring, step 1)."""
    list_fen = line.quantity * line.unit_price_fen
    options: list[tuple[int, int, str, str]] = []  # (amount, tie rank, benefit, detail)
    if line.sku in benefits.prices:
        price = benefits.prices[line.sku]
        options.append((price * line.quantity, 0, "member_price", f"member price {price}"))
    days = [(pct, name) for name, pct, excluded in benefits.days
            if line.category not in excluded]
    if days:
        pct, name = min(days)
        options.append((percent_of(list_fen, pct), 1, "member_day", f"{name} {pct}%"))
    if benefits.tier_percent < 100 and line.category not in benefits.tier_excluded:
        options.append((percent_of(list_fen, benefits.tier_percent), 2, "tier",
                        f"tier {benefits.tier_percent}%"))
    best = min(options, default=None)
    if best is None or best[0] >= list_fen:
        return PricedLine(line, list_fen, list_fen, None, None)
    return PricedLine(line, list_fen, best[0], best[2], best[3])


def price_lines(benefits: Benefits, lines: list[Line]) -> list[PricedLine]:
    return [price_line(benefits, line) for line in lines]


# Built once (every quote reads it): what the pricing reads of a member, as a row on the
# cursor (statements.fetch), not an ORM object. A purchase prices its locked Member instead.
_M = Member.__table__
_MEMBER = select(_M.c.id, _M.c.card_no, _M.c.tier, _M.c.points_balance, _M.c.balance_fen
                 ).where(_M.c.id == bindparam("member"), _M.c.erased_at.is_(None))


def member_of(session: Session, member_id: int):
    """What a quote reads of member `member_id` (id, card number, tier, points, balance),
    as a row; UnknownMember for an unknown or erased one."""
    found = statements.fetch(session, _MEMBER, {"member": member_id})
    if not found:
        raise UnknownMember(f"no member {member_id}")
    return found[0]


def coupon_of(session: Session, member: Member, code: str) -> tuple[Coupon, CouponTemplate]:
    """The member's coupon `code` and its template (read, not locked)."""
    coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper()))
    if coupon is None:
        raise CouponNotFound(f"no coupon {code!r}")
    if coupon.member_id != member.id:
        raise CouponNotYours(f"coupon {code} belongs to member {coupon.member_id}")
    return coupon, session.get(CouponTemplate, coupon.template_id)


def apply_coupons(session: Session, member: Member, codes: list[str], amount_fen: int,
                  now: datetime, store_id: int | None) -> list[tuple[str, int, int]]:
    """(code, amount before it, discount) for each coupon in turn (step 2), as redeeming
    them in store `store_id` would: raises the CouponRefused a redemption would."""
    applied = []
    for code in codes:
        coupon, template = coupon_of(session, member, code)
        redeeming.check_usable(coupon, template, member, amount_fen, now)
        redeeming.check_store(session, template, store_id)
        off = templates.discount_fen(template, amount_fen)
        applied.append((coupon.code, amount_fen, off))
        amount_fen -= off
    return applied


def usable_coupons(session: Session, member: Member, amount_fen: int,
                   now: datetime, store_id: int | None) -> list[dict]:
    """The member's coupons usable on `amount_fen` now in store `store_id`, each with its
    saving alone (a coupon limited to other stores is not listed)."""
    out = []
    for coupon, template in wallet.usable_in(session, member.id, now, store_id):
        try:
            redeeming.check_usable(coupon, template, member, amount_fen, now)
        except CouponRefused:
            continue
        out.append({"code": coupon.code, "text": templates.describe(template),
                    "saving_fen": templates.discount_fen(template, amount_fen),
                    "item": template.item, "valid_until": coupon.valid_until.isoformat() + "Z"})
    return sorted(out, key=lambda c: -c["saving_fen"])


def points_cash_off(session: Session, member: Member, amount_fen: int,
                    want: int | None) -> tuple[int, int]:
    """(points, fen off) on what is left after the coupons (step 3); (0, 0) when nothing is
    left. With `want`, raises what a cash-off would (InsufficientPoints ...)."""
    if want is None:
        if amount_fen <= 0:
            return 0, 0
        used, fen = redemption.cash_off_quote(session, member.points_balance, amount_fen)
        return (used, fen) if fen > 0 else (0, 0)
    redemption.check_cash_off("quote", amount_fen, want)
    return redemption.cash_off_check(session, member, amount_fen, want)


def multiplier(session: Session, day: date, benefits: Benefits) -> earn_rules.Multiplier:
    """The day's points multiplier: the earn rule's or the member day's, the highest."""
    return best_multiplier(earn_rules.multiplier_on(session, day), benefits.points_percent)


def best_multiplier(rule: earn_rules.Multiplier, points_percent: int,
                    name: str = "member day") -> earn_rules.Multiplier:
    """The dated earn rule's multiplier or the member day's, the highest (never stacked;
    a tie keeps the earn rule)."""
    if points_percent > rule.percent:
        return earn_rules.Multiplier(points_percent, None, name)
    return rule


def points_for(session: Session, member: Member | None, payable_fen: int,
               rule: earn_rules.Multiplier) -> int:
    return 0 if member is None else tiers.points_for(session, payable_fen, member.tier,
                                                     rule.percent)


def cash_off_rate(session: Session) -> int:
    return settings.get(session, "points_cash_off_rate")
