"""`wx-member channel …`: channel QR codes and what they brought."""
from __future__ import annotations

import click

from wx_member.cli.common import fail, runtime


@click.group()
def channel() -> None:
    """Channel QR codes."""


@channel.command("create")
@click.argument("scene")
@click.argument("name")
@click.option("--kind", type=click.Choice(["store", "staff", "poster", "campaign"]), default="store")
@click.option("--permanent", is_flag=True, help="a permanent code (at most 100,000 per account)")
@click.option("--days", default=30, show_default=True, help="validity of a temporary code")
@click.option("--store", help="the code of the store it stands in (its joiners' home store)")
def channel_create(scene: str, name: str, kind: str, permanent: bool, days: int,
                   store: str | None) -> None:
    """Create a channel QR code SCENE called NAME through WeChat."""
    from wx_member.members import channels
    from wx_member.platform.errors import DomainError
    from wx_member.wechat.api_client import GatewayError

    rt = runtime()
    with rt.sessions() as uow:
        try:
            ch = channels.create(uow, rt.gateway, scene=scene, name=name, kind=kind,
                                 permanent=permanent, expire_days=days, store=store)
        except (DomainError, GatewayError) as exc:
            fail(str(exc))
    click.echo(f"{ch.scene}: {rt.gateway.qrcode_image_url(ch.ticket)}")


@channel.command("stats")
def channel_stats() -> None:
    """Scans, distinct scanners and joins per channel."""
    from wx_member.members import channels_view

    with runtime().sessions() as uow:
        rows = channels_view.stats(uow)
    click.echo(f"{'scene':<20} {'kind':<9} {'scans':>6} {'people':>6} {'joins':>6}  name")
    for r in rows:
        click.echo(f"{r.scene:<20} {r.kind:<9} {r.scans:>6} {r.scanners:>6} {r.joins:>6}  {r.name}")
