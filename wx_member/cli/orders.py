"""`wx-member order ship|deliver`: what the shop API does, from the command line (a shop
without an integration, an operator fixing a missed call). Same use cases, same rules."""
from __future__ import annotations

import click

from wx_member.cli.common import fail, runtime


@click.group("order")
def order_group() -> None:
    """Order fulfilment: shipped, delivered (delivery reminders and the usage guide)."""


def _report(result) -> None:
    o = result.order
    state = "delivered" if o.delivered_at else "shipped"
    how = f" ({o.carrier or '-'} {o.tracking_no or '-'})" if o.carrier or o.tracking_no else ""
    click.echo(f"{o.out_trade_no} {state}{how}"
               f"{'' if result.changed else ' already: nothing changed'}"
               f"{f'; reminder {result.reminder}' if result.reminder else ''}")


@order_group.command("ship")
@click.argument("out_trade_no")
@click.option("--carrier", default=None, help="carrier name, e.g. 顺丰速运")
@click.option("--tracking", default=None, help="tracking number")
def ship(out_trade_no: str, carrier: str | None, tracking: str | None) -> None:
    """Mark OUT_TRADE_NO shipped and queue the member's shipping reminder (sent by the
    scheduler's next send, within a minute; quiet hours hold it)."""
    from wx_member.pushes import fulfilment
    from wx_member.platform.errors import DomainError

    rt = runtime(pushes=True)  # queues the member's shipping reminder
    with rt.sessions() as uow:
        try:
            result = fulfilment.mark_shipped(uow, rt.pushes, rt.config, out_trade_no,
                                             carrier=carrier, tracking_no=tracking)
        except DomainError as exc:
            fail(str(exc))
    _report(result)


@order_group.command("deliver")
@click.argument("out_trade_no")
def deliver(out_trade_no: str) -> None:
    """Mark OUT_TRADE_NO delivered (the usage guide follows the next day)."""
    from wx_member.pushes import fulfilment
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            result = fulfilment.mark_delivered(uow, out_trade_no)
        except DomainError as exc:
            fail(str(exc))
    _report(result)
