"""The `wx-member` command: one module per command group, each parsing its input, building
the runtime (`common.runtime`), calling one use case with a unit of work and printing the
result. The group modules import `common`, never this package's __init__, which only
assembles them (`python -m wx_member.cli` runs it too, see __main__.py)."""
from __future__ import annotations

import click

from wx_member.cli import (balance, channels, console, coupons, db, members, orders, points,
                           pushes, rules, serve, settings, stores)
from wx_member.sandbox.commands import sandbox_command, simulate_group


@click.group()
def main() -> None:
    """wx-member: membership and loyalty programme on WeChat."""


for command in (db.db, members.member, channels.channel, settings.settings_group,
                pushes.push, serve.scheduler_command, serve.serve_command, points.points_group,
                coupons.coupon_group, balance.balance_group, rules.rules_group,
                rules.tiers_group, orders.order_group, console.create_admin_command,
                sandbox_command, simulate_group, stores.stores_group):
    main.add_command(command)

from wx_member.cli import benefits  # noqa: E402  (the till's benefits, issue 13)

main.add_command(benefits.benefits_group)
main.add_command(benefits.tags_group)

from wx_member.cli import paid_membership  # noqa: E402  (付费会员 products, issue 14)

main.add_command(paid_membership.membership_group)
