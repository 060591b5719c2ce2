"""`wx-member member export|erase`: a member's data rights requests (services/privacy.py)."""
from __future__ import annotations

import json
import sys

import click


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("export")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--by", required=True, help="the operator handling the request (recorded)")
@click.option("--note", default=None, help="e.g. the request's ticket number (recorded)")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="write the JSON here instead of standard output")
def export_command(who: str, by: str, note: str | None, out: str | None) -> None:
    """Everything held about one member, as JSON: profile, ledger, orders, deliveries."""
    from wx_member.cli import _runtime
    from wx_member.members import privacy
    from wx_member.platform.errors import DomainError

    with _runtime().sessions() as session:
        try:
            data = privacy.export_member(session, who, by=by, note=note)
        except DomainError as exc:
            _fail(str(exc))
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        click.echo(f"exported member {data['profile']['card_no']} to {out}")
    else:
        click.echo(text)


@click.command("erase")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--by", required=True, help="the operator handling the request (recorded)")
@click.option("--note", default=None, help="e.g. the request's ticket number (recorded)")
@click.option("--yes", is_flag=True, help="confirm: this cannot be undone")
def erase_command(who: str, by: str, note: str | None, yes: bool) -> None:
    """Erase one member's personal data; ledger and orders stay, anonymised."""
    from wx_member.cli import _runtime
    from wx_member.members import privacy
    from wx_member.platform.errors import DomainError

    if not yes:
        _fail("erasure cannot be undone; add --yes to confirm")
    with _runtime().sessions() as session:
        try:
            result = privacy.erase_member(session, who, by=by, note=note)
        except DomainError as exc:
            _fail(str(exc))
    click.echo(f"member {result.member_id} erased: {result.forfeited_points} points forfeited, "
               f"{result.orders_kept} orders and {result.deliveries_kept} deliveries kept "
               "anonymised")


def register(main: click.Group) -> None:
    member = main.commands["member"]
    member.add_command(export_command)
    member.add_command(erase_command)
