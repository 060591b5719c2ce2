"""`wx-member benefits …`: tier discounts, member days and member price lists (the till's
benefits; every change audited). Parse, call one use case, print."""
from __future__ import annotations

from pathlib import Path

import click

from wx_member.cli.common import fail, refused, runtime


def _run(use_case):
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            return use_case(uow)
        except DomainError as exc:
            refused(exc)


@click.group("benefits")
def benefits_group() -> None:
    """Member benefits at the till: tier discounts, member days, member prices."""


@benefits_group.command("show")
@click.option("--all", "include_disabled", is_flag=True, help="disabled member days too")
def benefits_show(include_disabled: bool) -> None:
    """The tier discounts, member days and price list in force."""
    from wx_member.labels import tier_name
    from wx_member.payments import benefits_view

    got = _run(lambda uow: benefits_view.overview(uow, include_disabled))
    for tier, percent, excluded in got["tier_discounts"]:
        extra = f"  excluded: {', '.join(excluded)}" if excluded else ""
        click.echo(f"{tier_name(tier)}  {percent}%{extra}")
    for day_id, text in got["member_days"]:
        click.echo(f"day {day_id}  {text}")
    for sku, tier, price in got["prices"]:
        click.echo(f"price {sku}  {tier}  {price}")


@benefits_group.command("tier-discount")
@click.argument("tier")
@click.argument("percent", type=int)
@click.option("--exclude", default="", help="categories it does not apply to, comma-separated")
@click.option("--by", default="cli", help="who changes it")
def benefits_tier_discount(tier: str, percent: int, exclude: str, by: str) -> None:
    """TIER pays PERCENT % of list prices (95 = 95折, 100 = none)."""
    from wx_member.payments import benefits

    row = _run(lambda uow: benefits.set_tier_discount(uow, tier, percent, exclude, by))
    click.echo(f"{row.tier}  {row.percent}%  excluded: {', '.join(row.excluded_categories) or '-'}")


@benefits_group.command("day-add")
@click.argument("name")
@click.option("--weekday", type=int, help="every ISO weekday (1 = Monday)")
@click.option("--monthday", type=int, help="the Nth of each month")
@click.option("--tier", help="only this tier (default: every tier)")
@click.option("--discount", type=int, help="percent paid (80 = 8折)")
@click.option("--points", type=int, help="points multiplier percent (200 = double)")
@click.option("--exclude", default="", help="categories it does not apply to")
@click.option("--by", default="cli")
def benefits_day_add(name, weekday, monthday, tier, discount, points, exclude, by) -> None:
    """Add member day NAME (--weekday or --monthday; --discount and/or --points)."""
    from wx_member.payments import benefits

    if (weekday is None) == (monthday is None):
        fail("give --weekday or --monthday")
    spec = benefits.MemberDaySpec(name, "weekday" if weekday else "monthday",
                                  weekday or monthday, tier, discount, points,
                                  benefits.categories(exclude))
    row = _run(lambda uow: benefits.add_member_day(uow, spec, by))
    click.echo(f"day {row.id}  {benefits.describe_day(row)}")


@benefits_group.command("day-disable")
@click.argument("day_id", type=int)
@click.option("--by", default="cli")
def benefits_day_disable(day_id: int, by: str) -> None:
    """Stop member day DAY_ID."""
    from wx_member.payments import benefits

    row = _run(lambda uow: benefits.disable_member_day(uow, day_id, by))
    click.echo(f"day {row.id}  {benefits.describe_day(row)}")


@benefits_group.command("prices-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli")
def benefits_prices_import(path: Path, by: str) -> None:
    """Import a price list CSV (header sku,tier,price_fen); any bad row: nothing written."""
    from wx_member.payments import price_lists

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail("the file is not UTF-8 (文件须为 UTF-8 编码)")
    result = _run(lambda uow: price_lists.import_prices(uow, text, by))
    if result.errors:
        for error in result.errors:
            click.echo(error, err=True)
        fail(f"{len(result.errors)} bad rows; nothing imported")
    click.echo(f"{result.written} prices imported")


@benefits_group.command("price-remove")
@click.argument("sku")
@click.argument("tier")
@click.option("--by", default="cli")
def benefits_price_remove(sku: str, tier: str, by: str) -> None:
    """Take SKU's member price for TIER off the price list."""
    from wx_member.payments import price_lists

    click.echo("removed" if _run(lambda uow: price_lists.remove_price(uow, sku, tier, by))
               else "no such price")


@click.group("tags")
def tags_group() -> None:
    """Preference tag rules (拿铁爱好者 = 3 purchases of 拿铁 in 90 days) and their run."""


@tags_group.command("rule-add")
@click.argument("tag")
@click.option("--category", help="purchases with a line of this category")
@click.option("--sku", help="purchases with a line of this SKU")
@click.option("--min", "min_purchases", type=int, default=3, show_default=True)
@click.option("--days", type=int, default=90, show_default=True)
@click.option("--by", default="cli")
def tags_rule_add(tag, category, sku, min_purchases, days, by) -> None:
    """Tag TAG on members with at least --min purchases of --category or --sku in --days."""
    from wx_member.console import tag_rules

    if (category is None) == (sku is None):
        fail("give --category or --sku")
    rule = _run(lambda uow: tag_rules.add(uow, tag, "category" if category else "sku",
                                          category or sku, min_purchases, days, by))
    click.echo(f"{rule.id}  {tag_rules.describe(rule)}")


@tags_group.command("rules")
def tags_rules() -> None:
    """Every tag rule."""
    from wx_member.console import tag_rules

    for rule in _run(tag_rules.rules):
        click.echo(f"{rule.id}  {tag_rules.describe(rule)}")


@tags_group.command("rule-disable")
@click.argument("rule_id", type=int)
@click.option("--by", default="cli")
def tags_rule_disable(rule_id: int, by: str) -> None:
    """Stop rule RULE_ID (its tags go at the next run)."""
    from wx_member.console import tag_rules

    rule = _run(lambda uow: tag_rules.disable(uow, rule_id, by))
    click.echo(f"{rule.id}  {tag_rules.describe(rule)}")


@tags_group.command("run")
def tags_run() -> None:
    """Tag and untag now (the scheduler does it daily at 01:00)."""
    from wx_member.console import tag_rules

    for t in _run(tag_rules.run):
        click.echo(f"{t.tag}  +{t.added}  -{t.removed}")
