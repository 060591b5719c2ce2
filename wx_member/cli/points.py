"""`wx-member points ...`: the expiry run, redemptions and the gift catalogue."""
from __future__ import annotations

import uuid
from datetime import timedelta

import click

from wx_member.cli.common import fail, refused, runtime


@click.group("points")
def points_group() -> None:
    """Points: expiry run, redemptions, gift catalogue."""


@points_group.command("expire")
@click.option("--dry-run", is_flag=True, help="count what would lapse, write nothing")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="run as on this local day (default: today): lots whose last day is "
                   "before it lapse")
def expire(dry_run: bool, at) -> None:
    """Expire lapsed points (idempotent: a second run the same day writes nothing)."""
    from wx_member.loyalty import expiry_run

    rt = runtime()
    as_of = at.date() - timedelta(days=1) if at else None
    with rt.sessions() as uow:
        r = expiry_run.run(uow, as_of, tz=rt.config.tz, dry_run=dry_run)
    verb = "would expire" if dry_run else "expired"
    looked = "every member" if r.visited is None else f"{r.visited} members since the last run"
    click.echo(f"as of {r.as_of} (end of day, {rt.config.timezone}): {verb} {r.points} points "
               f"of {r.members} members in {r.seconds:.2f} s (looked at {looked})")


@points_group.command("redeem")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--gift", "gift_id", type=int, help="gift id (see `points gift list`)")
@click.option("--quantity", default=1, show_default=True)
@click.option("--key", default=None, help="request key, once per redemption (default: new)")
@click.option("--cash-off", "order_no", help="pay part of this order with points")
@click.option("--amount", "amount_fen", type=int, help="the order's amount, fen")
@click.option("--points", "want", type=int, default=None,
              help="points to use for --cash-off (default: as many as allowed)")
def redeem(who: str, gift_id: int | None, quantity: int, key: str | None, order_no: str | None,
           amount_fen: int | None, want: int | None) -> None:
    """Redeem points for a gift (--gift ID) or as cash off an order (--cash-off NO --amount FEN)."""
    from wx_member.loyalty import gift_catalogue, redemption
    from wx_member.members import lookup_view
    from wx_member.platform.errors import DomainError

    if (gift_id is None) == (order_no is None):
        fail("give exactly one of --gift ID or --cash-off ORDER_NO")
    if order_no is not None and amount_fen is None:
        fail("--cash-off needs --amount FEN (the order's amount)")
    rt = runtime()
    with rt.sessions() as uow:
        member = lookup_view.find(uow, who)
        if member is None:
            fail(f"no member with openid or card number {who!r}")
        try:
            if gift_id is not None:
                r = gift_catalogue.redeem_gift(uow, member, gift_id, key or uuid.uuid4().hex,
                                               quantity)
            else:
                r = redemption.cash_off(uow, member, order_no, amount_fen, want)
        except DomainError as exc:
            refused(exc)
        balance = member.points_balance  # the row the redemption locked and changed
    what = (f"gift {gift_id} × {quantity}" if gift_id is not None
            else f"{r.fen_off} fen off order {order_no}")
    again = " (already redeemed: nothing changed)" if r.replayed else ""
    click.echo(f"{r.points} points → {what}; balance {balance}{again}")


@points_group.command("cancel-cash-off")
@click.argument("order_no")
@click.option("--reason", required=True, help="why (kept on the ledger row), e.g. 订单取消")
def cancel_cash_off(order_no: str, reason: str) -> None:
    """Give back the points of ORDER_NO's cash-off: the order was never paid or was cancelled
    (once; the points keep the expiry they had)."""
    from wx_member.loyalty import redemption
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            r = redemption.cancel_cash_off(uow, order_no, reason)
        except DomainError as exc:
            refused(exc)
    again = " (already cancelled: nothing changed)" if r.replayed else ""
    click.echo(f"{r.points} points given back for order {order_no}{again}")


@points_group.group("gift")
def gift_group() -> None:
    """The gift catalogue."""


@gift_group.command("add")
@click.argument("name")
@click.option("--points", "cost", type=int, required=True, help="points for one")
@click.option("--stock", type=int, required=True)
def gift_add(name: str, cost: int, stock: int) -> None:
    """Add gift NAME, costing --points each, with --stock in hand."""
    from wx_member.loyalty import gift_catalogue
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            gift = gift_catalogue.add_gift(uow, name, cost, stock)
        except DomainError as exc:
            refused(exc)
    click.echo(f"gift {gift.id}: {gift.name}, {gift.points} points, stock {gift.stock}")


@gift_group.command("restock")
@click.argument("gift_id", type=int)
@click.argument("delta", type=int)
def gift_restock(gift_id: int, delta: int) -> None:
    """Add DELTA to a gift's stock (negative: remove, never below zero)."""
    from wx_member.loyalty import gift_catalogue
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            gift = gift_catalogue.restock(uow, gift_id, delta)
        except DomainError as exc:
            refused(exc)
    click.echo(f"gift {gift.id}: stock {gift.stock}")


@gift_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="also gifts taken off the list")
def gift_list(include_inactive: bool) -> None:
    """The gifts on offer: id, points, stock, name."""
    from wx_member.loyalty import catalogue_view

    with runtime().sessions() as uow:
        gifts = catalogue_view.gifts(uow, include_inactive)
    click.echo(f"{'id':>5} {'points':>8} {'stock':>7}  name")
    for g in gifts:
        click.echo(f"{g.id:>5} {g.points:>8} {g.stock:>7}  {g.name}{'' if g.active else ' (off)'}")

