"""`wx-member rules …` (dated earn rules) and `wx-member tiers review` (the yearly tier
review): parse, call one service, print."""
from __future__ import annotations

from datetime import date

import click

from wx_member.cli.common import fail, parse_date, runtime


def _run(use_case):
    """Run one use case with a fresh unit of work; a refusal prints its reason."""
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            return use_case(uow)
        except DomainError as exc:
            fail(str(exc))


@click.group("rules")
def rules_group() -> None:
    """Dated earn rules: double-points days and member days (highest multiplier wins)."""


@rules_group.command("add-day")
@click.argument("start", callback=parse_date)
@click.argument("end", required=False, callback=parse_date)
@click.option("--multiplier", default=200, show_default=True,
              help="percent of the usual points (200 = double)")
@click.option("--name", default="双倍积分日", show_default=True)
@click.option("--by", default="cli", help="who adds it")
def rules_add_day(start: date, end: date | None, multiplier: int, name: str, by: str) -> None:
    """Multiply points on START (to END, inclusive; local dates)."""
    from wx_member.loyalty import earn_rules

    rule = _run(lambda uow: earn_rules.add_days(uow, start, end, multiplier=multiplier,
                                                name=name, by=by))
    click.echo(f"{rule.id}  {earn_rules.describe(rule)}")


@rules_group.command("add-weekday")
@click.argument("weekday")
@click.option("--multiplier", default=200, show_default=True,
              help="percent of the usual points (200 = double)")
@click.option("--name", default="会员日", show_default=True)
@click.option("--from", "starts_on", callback=parse_date, help="first local date it applies")
@click.option("--until", "ends_on", callback=parse_date, help="last local date it applies")
@click.option("--by", default="cli", help="who adds it")
def rules_add_weekday(weekday: str, multiplier: int, name: str, starts_on: date | None,
                      ends_on: date | None, by: str) -> None:
    """Multiply points every WEEKDAY (1-7, Monday = 1, or tue, tuesday, 周二)."""
    from wx_member.loyalty import earn_rules

    def use_case(uow):
        return earn_rules.add_weekday(uow, earn_rules.parse_weekday(weekday),
                                      multiplier=multiplier, name=name, starts_on=starts_on,
                                      ends_on=ends_on, by=by)

    rule = _run(use_case)
    click.echo(f"{rule.id}  {earn_rules.describe(rule)}")


@rules_group.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="disabled rules too")
def rules_list(include_disabled: bool) -> None:
    """Earn rules in force (and, with --all, disabled ones)."""
    from wx_member.loyalty import earn_rules, earn_rules_view

    for rule in _run(lambda uow: earn_rules_view.listed(uow, include_disabled)):
        click.echo(f"{rule.id}  {earn_rules.describe(rule)}")


@rules_group.command("disable")
@click.argument("rule_id", type=int)
@click.option("--by", default="cli", help="who disables it")
def rules_disable(rule_id: int, by: str) -> None:
    """Stop rule RULE_ID from the next payment on (orders keep what they earned)."""
    from wx_member.loyalty import earn_rules

    rule = _run(lambda uow: earn_rules.disable(uow, rule_id, by))
    click.echo(f"{rule.id}  {earn_rules.describe(rule)}")


@click.group("tiers")
def tiers_group() -> None:
    """Tier reviews."""


@tiers_group.command("review")
@click.option("--at", "day", callback=parse_date, help="review date (local; default today)")
def tiers_review(day: date | None) -> None:
    """Review the members whose tier anniversary is the --at date (default today; idempotent
    per member and date)."""
    from wx_member.clock import local_day, utcnow
    from wx_member.loyalty import tier_review

    rt = runtime()
    day = day or local_day(utcnow(), rt.config.tz)
    with rt.sessions() as uow:
        try:
            result = tier_review.review(uow, day, rt.config.tz)
        except tier_review.InvalidReview as exc:
            fail(str(exc))
    if result.mode != "yearly":
        click.echo(f"tier_review is {result.mode!r}: nothing reviewed "
                   f"(wx-member settings set tier_review yearly)")
        return
    lowered = ", ".join(f"{a}→{b}: {n}" for (a, b), n in sorted(result.lowered.items()))
    click.echo(f"{day}: reviewed {result.reviewed}, lowered {sum(result.lowered.values())}"
               f"{f' ({lowered})' if lowered else ''}")

