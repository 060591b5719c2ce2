"""The `wx-member` command."""
from __future__ import annotations

import json
import sys

import click

from wx_member.config import Config


def _runtime():
    from wx_member.extensions import build_runtime

    return build_runtime(Config.from_env())


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """wx-member: membership and loyalty programme on WeChat."""


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: all heads)."""
    from wx_member import migrate

    url = Config.from_env().database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}: {url.split('@')[-1]}")


@main.group()
def member() -> None:
    """Look at members."""


@member.command("show")
@click.argument("openid")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def member_show(openid: str, as_json: bool) -> None:
    """Card number, tier, points balance, referrer, channel and ledger of OPENID."""
    from wx_member.members import membership
    from wx_member.insights import reports

    rt = _runtime()
    with rt.sessions() as session:
        found = membership.by_openid(session, openid) or membership.by_card(session, openid)
        if found is None:
            _fail(f"no member with openid or card number {openid!r}")
        profile = reports.member_profile(session, found)
    if as_json:
        click.echo(json.dumps(profile, ensure_ascii=False, indent=2))
        return
    click.echo(f"{profile['card_no']}  {profile['tier_name']}  {profile['points']} 积分  "
               f"channel={profile['channel']}  referrer={profile['referrer_card_no']}")
    click.echo(f"  储值余额 {profile['stored_value']['balance_fen'] / 100:.2f} 元  "
               f"可用优惠券 {sum(c['status'] == 'available' for c in profile['coupons'])} 张")
    for row in profile["ledger"]:
        click.echo(f"  {row['created_at']}  {row['delta']:+d}  {row['reason_zh']}")


@main.group()
def channel() -> None:
    """Channel QR codes."""


@channel.command("create")
@click.argument("scene")
@click.argument("name")
@click.option("--kind", type=click.Choice(["store", "staff", "poster", "campaign"]), default="store")
@click.option("--permanent", is_flag=True, help="a permanent code (at most 100,000 per account)")
@click.option("--days", default=30, show_default=True, help="validity of a temporary code")
def channel_create(scene: str, name: str, kind: str, permanent: bool, days: int) -> None:
    """Create a channel QR code SCENE called NAME through WeChat."""
    from wx_member.members import channels
    from wx_member.platform.errors import DomainError
    from wx_member.wechat.gateway import GatewayError

    rt = _runtime()
    with rt.sessions() as session:
        try:
            ch = channels.create(session, rt.gateway, scene=scene, name=name, kind=kind,
                                 permanent=permanent, expire_days=days)
        except (DomainError, GatewayError) as exc:
            _fail(str(exc))
    click.echo(f"{ch.scene}: {rt.gateway.qrcode_image_url(ch.ticket)}")


@channel.command("stats")
def channel_stats() -> None:
    """Scans, distinct scanners and joins per channel."""
    from wx_member.members import channels

    rt = _runtime()
    with rt.sessions() as session:
        rows = channels.stats(session)
    click.echo(f"{'scene':<20} {'kind':<9} {'scans':>6} {'people':>6} {'joins':>6}  name")
    for r in rows:
        click.echo(f"{r.scene:<20} {r.kind:<9} {r.scans:>6} {r.scanners:>6} {r.joins:>6}  {r.name}")


@main.group("settings")
def settings_group() -> None:
    """Programme rules stored in the database."""


@settings_group.command("show")
def settings_show() -> None:
    from wx_member.platform import settings

    with _runtime().sessions() as session:
        for key, value in settings.all_settings(session).items():
            click.echo(f"{key} = {value}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--by", default="cli", help="who changes it (kept with the value)")
def settings_set(key: str, value: str, by: str) -> None:
    from wx_member.platform import settings
    from wx_member.platform.errors import DomainError

    with _runtime().sessions() as session:
        try:
            settings.change(session, key, settings.parse(key, value), by)
        except DomainError as exc:
            _fail(str(exc))
    click.echo(f"{key} = {value}")


@main.command("scheduler")
@click.option("--ttl", default=30.0, show_default=True, help="lease length, seconds")
@click.option("--renew", default=10.0, show_default=True, help="renew the lease every N seconds")
@click.option("--send-every", default=60.0, show_default=True,
              help="send due pushes every N seconds")
def scheduler_command(ttl: float, renew: float, send_every: float) -> None:
    """Run the scheduled jobs (pushes, housekeeping); stands by while another process leads."""
    import signal
    import threading

    from wx_member import logs
    from wx_member.scheduler import SchedulerRunner

    logs.configure()
    runner = SchedulerRunner(_runtime(), ttl=ttl, renew=renew, send_every=send_every)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()


@main.group()
def push() -> None:
    """Pushes: plan and send a kind now, send what is due, see statuses."""


@push.command("run")
@click.argument("kind")
@click.option("--dry-run", is_flag=True,
              help="send only to test openids (--to or WX_PUSH_TEST_OPENIDS)")
@click.option("--to", "to", default="", help="comma-separated test openids for --dry-run")
@click.option("--occasion", default="test", show_default=True, help="a dry run's occasion label")
def push_run(kind: str, dry_run: bool, to: str, occasion: str) -> None:
    """Plan today's KIND pushes (idempotent) and send what is due."""
    from wx_member.pushes import deliveries
    from wx_member.pushes import planners
    from wx_member.platform.errors import DomainError

    rt = _runtime()
    push_def = rt.pushes.get(kind)
    if push_def is None:
        _fail(f"unknown push kind {kind!r}; known: {', '.join(rt.pushes)}")
    with rt.sessions() as session:
        try:
            if dry_run:
                openids = [o for o in to.split(",") if o] or list(rt.config.push_test_openids)
                if not openids:
                    _fail("--dry-run needs --to OPENID,... or WX_PUSH_TEST_OPENIDS")
                if push_def.disabled:
                    _fail(push_def.disabled)
                result = planners.dry_run(session, push_def, occasion, openids, rt.config,
                                           planners.utcnow())
            else:
                result = planners.plan(session, rt.pushes, kind, rt.config)
        except DomainError as exc:
            _fail(str(exc))
    with rt.sessions() as session:
        stats = deliveries.send_due(session, rt.gateway, rt.config.tz,
                                    kinds=[kind] if dry_run else None)
    click.echo(f"{kind} {', '.join(result.occasions) or '(no occasion today)'}: planned "
               f"{result.planned}, capped {result.capped}; sent now: {dict(stats.counts)}")


@push.command("send")
@click.option("--batch", default=200, show_default=True, help="rows claimed per batch")
@click.option("--workers", default=8, show_default=True, help="concurrent calls to WeChat")
def push_send(batch: int, workers: int) -> None:
    """Send every delivery that is due (retries, postponed, newly planned)."""
    from wx_member.pushes import deliveries

    rt = _runtime()
    with rt.sessions() as session:
        stats = deliveries.send_due(session, rt.gateway, rt.config.tz, batch=batch,
                                    workers=workers)
    click.echo(f"{dict(stats.counts)}{f' (stopped: {stats.stopped})' if stats.stopped else ''}")


@push.command("status")
def push_status() -> None:
    """Deliveries by kind and status."""
    from sqlalchemy import func, select

    from wx_member.models import Delivery

    with _runtime().sessions() as session:
        rows = session.execute(select(Delivery.kind, Delivery.status, func.count())
                               .group_by(Delivery.kind, Delivery.status)
                               .order_by(Delivery.kind, Delivery.status)).all()
    for kind, status, n in rows:
        click.echo(f"{kind:<16} {status:<10} {n:>8}")


def _register_optional() -> None:
    """Each area keeps its commands in its own module."""
    from wx_member import console_cli, import_commands, rules_cli
    from wx_member.cli_points import points_group
    from wx_member.coupon_commands import balance_group, coupon_group
    from wx_member.order_commands import order_group
    from wx_member.privacy_commands import register as register_privacy
    from wx_member.sandbox.commands import sandbox_command, simulate_group
    from wx_member.serve import serve_command

    for command in (sandbox_command, simulate_group, serve_command, order_group,
                    coupon_group, balance_group, points_group):
        main.add_command(command)
    rules_cli.register(main)
    register_privacy(main)  # member export | erase
    console_cli.register(main)
    import_commands.register(main)  # member import


if __name__ == "__main__":
    # `python -m wx_member.cli`: this module is `__main__`, and the command modules import
    # `wx_member.cli` again; registering here would import them half-way. Use that one.
    from wx_member.cli import main as cli_main

    cli_main()
else:
    _register_optional()
