"""The member-day calendar (会员日历): for each local day of a month, what a member of each
tier gets at the till that day, from member days (a discount, a points multiplier) and the
dated earn rules (a multiplier for everyone). Built from the rule functions the quote and
the purchase use (payments/pricing.py `member_days_of`, `day_benefits`, `best_multiplier`,
loyalty/earn_rules.py `multiplier_on`), so the calendar says what the till will do. The
tiers' everyday discounts and the member price list do not depend on the day: not shown."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from wx_member.db import UnitOfWork
from wx_member.labels import tier_name
from wx_member.loyalty import earn_rules, tiers
from wx_member.payments import pricing


@dataclass(frozen=True)
class TierDay:
    discounts: tuple  # (name, percent, excluded categories) of the member days discounting
    multiplier: earn_rules.Multiplier  # what a payment earns: the highest, never stacked


@dataclass(frozen=True)
class CalendarDay:
    day: date
    tiers: dict[str, TierDay]  # by tier, in ladder order

    @property
    def lines(self) -> list[str]:
        """The day in an operator's words, a line per benefit, tiers that get the same
        together (全部会员 when every tier does): 全部会员：周三会员日 8折, 金卡会员：积分 ×2（…）."""
        out = []
        for what, text in ((lambda t: t.discounts, _discount_text),
                           (lambda t: t.multiplier if t.multiplier.percent > earn_rules.BASE
                            else None, _multiplier_text)):
            groups: dict = {}
            for tier, tier_day in self.tiers.items():
                if what(tier_day):
                    groups.setdefault(what(tier_day), []).append(tier)
            for value, members in groups.items():
                who = ("全部会员" if len(members) == len(tiers.LADDER)
                       else "、".join(tier_name(t) for t in members))
                out.append(f"{who}：{text(value)}")
        return out


def _discount_text(discounts) -> str:
    return "；".join(f"{name} {percent / 10:g}折" +
                    (f"（不含 {'、'.join(sorted(excluded))}）" if excluded else "")
                    for name, percent, excluded in discounts)


def _multiplier_text(m: earn_rules.Multiplier) -> str:
    return f"积分 ×{m.percent / 100:g}" + (f"（{m.name}）" if m.name else "")


def month(uow: UnitOfWork, year: int, month_no: int) -> list[list[CalendarDay | None]]:
    """Use case (a read): the month's weeks, Monday first, each day of the month with what
    every tier gets on it; None pads the first and last weeks. A query per tier for its
    member days and one per day for the dated earn rule."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month_no)
    with uow.read() as session:
        rows = {tier: pricing.member_days_of(session, tier) for tier in tiers.LADDER}

        def one(day: date) -> CalendarDay:
            rule = earn_rules.multiplier_on(session, day)
            by_tier = {}
            for tier in tiers.LADDER:
                got = pricing.day_benefits(rows[tier], day)
                by_tier[tier] = TierDay(got.discounts, pricing.best_multiplier(
                    rule, got.points_percent, got.points_name or "会员日"))
            return CalendarDay(day, by_tier)

        return [[one(d) if d.month == month_no else None for d in week] for week in weeks]
