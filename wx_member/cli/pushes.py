"""`wx-member push …`: plan and send a push kind now, send what is due, see statuses."""
from __future__ import annotations

import click

from wx_member.cli.common import fail, runtime


@click.group()
def push() -> None:
    """Pushes: plan and send a kind now, send what is due, see statuses."""


@push.command("run")
@click.argument("kind")
@click.option("--dry-run", is_flag=True,
              help="send only to test openids (--to or WX_PUSH_TEST_OPENIDS)")
@click.option("--to", "to", default="", help="comma-separated test openids for --dry-run")
@click.option("--occasion", default="test", show_default=True, help="a dry run's occasion label")
@click.option("--channel", default=None,
              help="a dry run's channel (default: the kind's first); mass: message/mass/preview")
def push_run(kind: str, dry_run: bool, to: str, occasion: str, channel: str | None) -> None:
    """Plan today's KIND pushes (idempotent) and send what is due."""
    from wx_member.pushes import deliveries
    from wx_member.pushes import planners
    from wx_member.platform.errors import DomainError

    rt = runtime(pushes=True)
    push_def = rt.pushes.get(kind)
    if push_def is None:
        fail(f"unknown push kind {kind!r}; known: {', '.join(rt.pushes)}")
    with rt.sessions() as uow:
        try:
            if dry_run:
                openids = [o for o in to.split(",") if o] or list(rt.config.push_test_openids)
                if not openids:
                    fail("--dry-run needs --to OPENID,... or WX_PUSH_TEST_OPENIDS")
                if push_def.disabled:
                    fail(push_def.disabled)
                if channel is not None and channel not in push_def.channels:
                    fail(f"{kind} cannot use channel {channel!r} here; it uses "
                         f"{', '.join(push_def.channels)}")
                result = planners.dry_run(uow, push_def, occasion, openids, rt.config,
                                          planners.utcnow(), channel=channel)
            else:
                result = planners.plan(uow, rt.pushes, kind, rt.config)
        except DomainError as exc:
            fail(str(exc))
    with rt.sessions() as uow:
        stats = deliveries.send_due(uow, rt.gateway, rt.config.tz,
                                    kinds=[kind] if dry_run else None)
    click.echo(f"{kind} {', '.join(result.occasions) or '(no occasion today)'}: planned "
               f"{result.planned}, capped {result.capped}; sent now: {dict(stats.counts)}")


@push.command("send")
@click.option("--batch", default=200, show_default=True, help="rows claimed per batch")
@click.option("--workers", default=8, show_default=True, help="concurrent calls to WeChat")
def push_send(batch: int, workers: int) -> None:
    """Send every delivery that is due (retries, postponed, newly planned)."""
    from wx_member.pushes import deliveries

    rt = runtime(pushes=True)
    with rt.sessions() as uow:
        stats = deliveries.send_due(uow, rt.gateway, rt.config.tz, batch=batch,
                                    workers=workers)
    click.echo(f"{dict(stats.counts)}{f' (stopped: {stats.stopped})' if stats.stopped else ''}")


@push.command("status")
def push_status() -> None:
    """Deliveries by kind and status."""
    from wx_member.pushes import status_view

    with runtime().sessions() as uow:
        rows = status_view.delivery_counts(uow)
    for kind, status, n in rows:
        click.echo(f"{kind:<16} {status:<10} {n:>8}")


@push.command("forecast")
@click.argument("kind")
@click.option("--campaign", "campaign_id", type=int, default=None,
              help="the forecast of this console campaign (of kind KIND) instead")
def push_forecast(kind: str, campaign_id: int | None) -> None:
    """What planning KIND (or a campaign) now would do, before anything is sent: members
    targeted, reachable by each channel, held by the weekly cap, unreachable and why."""
    from wx_member.labels import PUSH_CHANNELS, REACH_REASONS
    from wx_member.platform.errors import DomainError
    from wx_member.pushes import campaign_runs, planners

    rt = runtime(pushes=True)
    with rt.sessions() as uow:
        try:
            f = (campaign_runs.forecast(uow, rt.pushes, campaign_id, rt.config)
                 if campaign_id is not None else planners.forecast(uow, rt.pushes, kind, rt.config))
        except DomainError as exc:
            fail(str(exc))
    click.echo(f"{kind}: targeted {f.targeted}, reachable {f.reachable}, capped {f.capped}, "
               f"unreachable {f.unreachable_total}")
    for channel, n in f.by_channel.most_common():
        click.echo(f"  {PUSH_CHANNELS.get(channel, channel)} ({channel}): {n}")
    for reasons, n in f.unreachable.most_common():
        why = "；".join(f"{PUSH_CHANNELS.get(c, c)}：{REACH_REASONS.get(r, r)}"
                       for c, r in (x.split(":", 1) for x in reasons))
        click.echo(f"  unreachable {n}: {why}")


@push.command("sync-tags")
@click.option("--segments/--no-segments", default=True,
              help="also the RFM segments and live campaigns' segments (default: yes)")
def push_sync_tags(segments: bool) -> None:
    """Bring WeChat's user tags in line with the programme's tags and segments (idempotent,
    resumable)."""
    from wx_member.platform.errors import DomainError
    from wx_member.pushes import wechat_tags

    rt = runtime()
    with rt.sessions() as uow:
        try:
            r = wechat_tags.sync(uow, rt.gateway, segments)
        except DomainError as exc:
            fail(f"{exc} (run it again: it goes on from where it stopped)")
    click.echo(f"tags created {r.created}, members tagged {r.tagged}, untagged {r.untagged}, "
               f"erased members' tags untagged {r.released}, untags WeChat no longer needed "
               f"{r.dropped}, calls {r.calls}, left out: {r.over_limit} members with 20 tags, "
               f"{r.tags_left_out} tags over the account's 100, {r.not_following} members "
               f"WeChat does not know (left)")


@push.command("mass-tag")
@click.argument("tag")
@click.argument("text")
@click.option("--occasion", required=True,
              help="names this send: repeated after a timeout, WeChat sends it once")
@click.option("--image", "media_id", default=None,
              help="send this image (a media_id from WeChat's media library) instead of TEXT")
@click.option("--by", default="cli", show_default=True, help="who sends it (audit log)")
def push_mass_tag(tag: str, text: str, occasion: str, media_id: str | None, by: str) -> None:
    """A mass text or image (群发) to everyone with programme tag TAG at WeChat (sync-tags
    first); the console's 群发 page does the same, with the same checks."""
    from wx_member.platform.errors import DomainError
    from wx_member.pushes import mass_sends, tag_sends
    from wx_member.wechat.api_client import GatewayError

    rt = runtime()
    with rt.sessions() as uow:
        try:
            done = tag_sends.send(uow, rt.gateway, tag, text, occasion, by=by,
                                  media_id=media_id)
        except tag_sends.TagNotSynced:
            fail(f"tag {tag!r} is not at WeChat yet: run `wx-member push sync-tags`")
        except GatewayError as exc:
            fail(f"{exc}: refused, nothing was sent" if mass_sends.refused(exc) else
                 f"{exc} (run it again with the same --occasion: WeChat sends it once)")
        except DomainError as exc:
            fail(f"{exc}: {exc.user_message}")
    job = done.job
    note = "" if done.sent_now else " (sent before or unanswered for 24 hours: not sent again)"
    click.echo(f"mass send {job.occasion}: {job.status}, msg_id {job.msg_id}{note}")
