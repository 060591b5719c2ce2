"""`wx-member member …`: look a member up, import a member list, and a member's data rights
requests (export, erase; members/privacy.py)."""
from __future__ import annotations

import json
import sys

import click

from wx_member.cli.common import fail, runtime


@click.group()
def member() -> None:
    """Members: show one, import a list, export or erase one's data."""


@member.command("show")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def member_show(who: str, as_json: bool) -> None:
    """Card number, tier, points balance, referrer, channel and ledger of the member with
    this openid or card number."""
    from wx_member.insights import profile_view

    with runtime().sessions() as uow:
        profile = profile_view.member_report(uow, who)
    if profile is None:
        fail(f"no member with openid or card number {who!r}")
    if as_json:
        click.echo(json.dumps(profile, ensure_ascii=False, indent=2))
        return
    click.echo(f"{profile['card_no']}  {profile['tier_name']}  {profile['points']} 积分  "
               f"channel={profile['channel']}  referrer={profile['referrer_card_no']}")
    click.echo(f"  储值余额 {profile['stored_value']['balance_fen'] / 100:.2f} 元  "
               f"可用优惠券 {sum(c['status'] == 'available' for c in profile['coupons'])} 张")
    for row in profile["ledger"]:
        click.echo(f"  {row['created_at']}  {row['delta']:+d}  {row['reason_zh']}")


@member.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="cli", show_default=True, help="who imports (audit log)")
@click.option("--skip-invalid", is_flag=True,
              help="import the good rows even if some are bad (default: import nothing)")
def import_command(path: str, by: str, skip_invalid: bool) -> None:
    """Import members: columns openid (required), phone, birthday (YYYY-MM-DD), tags
    (separated by spaces or |). Idempotent by openid."""
    from wx_member.members import member_import
    from wx_member.platform.errors import DomainError

    with open(path, "rb") as f:
        data = f.read()
    try:
        rows, errors = member_import.parse(data)
    except DomainError as exc:
        click.echo(f"error: {exc.user_message}", err=True)
        sys.exit(2)
    with runtime().sessions() as uow:  # rows named by card number: their members' openids
        rows, unknown = member_import.resolve(uow, rows)
    errors = sorted(errors + unknown)
    for line, message in errors:
        click.echo(f"第 {line} 行：{message}", err=True)
    if errors and not skip_invalid:
        click.echo(f"error: {len(errors)} bad rows; nothing imported (fix them, or "
                   f"--skip-invalid to import the {len(rows)} good ones)", err=True)
        sys.exit(1)
    with runtime().sessions() as uow, \
            click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
        report = member_import.import_rows(uow, rows, by, progress=bar.update)
    click.echo(f"imported {report.rows} rows: {report.created} new members, {report.updated} "
               f"updated, {report.unchanged} unchanged, {report.tags_added} tags added"
               + (f"; {len(errors)} bad rows skipped" if errors else ""))


@member.command("export")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--by", required=True, help="the operator handling the request (recorded)")
@click.option("--note", default=None, help="e.g. the request's ticket number (recorded)")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="write the JSON here instead of standard output")
def export_command(who: str, by: str, note: str | None, out: str | None) -> None:
    """Everything held about one member, as JSON: profile, ledger, orders, deliveries."""
    from wx_member.members import privacy
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            data = privacy.export_member(uow, who, by=by, note=note)
        except DomainError as exc:
            fail(str(exc))
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        click.echo(f"exported member {data['profile']['card_no']} to {out}")
    else:
        click.echo(text)


@member.command("erase")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--by", required=True, help="the operator handling the request (recorded)")
@click.option("--note", default=None, help="e.g. the request's ticket number (recorded)")
@click.option("--yes", is_flag=True, help="confirm: this cannot be undone")
def erase_command(who: str, by: str, note: str | None, yes: bool) -> None:
    """Erase one member's personal data; ledger and orders stay, anonymised."""
    from wx_member.members import privacy
    from wx_member.platform.errors import DomainError

    if not yes:
        fail("erasure cannot be undone; add --yes to confirm")
    with runtime().sessions() as uow:
        try:
            result = privacy.erase_member(uow, who, by=by, note=note)
        except DomainError as exc:  # with the Chinese message: what to do (refund first)
            fail(f"{exc} ({exc.user_message})")
    click.echo(f"member {result.member_id} erased: {result.forfeited_points} points forfeited, "
               f"{result.orders_kept} orders and {result.deliveries_kept} deliveries kept "
               "anonymised")


@member.command("card-lost")
@click.argument("who", metavar="OPENID|CARD")
@click.option("--by", required=True, help="the operator handling the report (audited)")
@click.option("--yes", is_flag=True, help="confirm: the old card stops working at once")
def card_lost_command(who: str, by: str, yes: bool) -> None:
    """Report a member's card lost (挂失): the number is blocked at the till and a new one
    issued (补卡); points, balance, coupons and history stay with the member."""
    from wx_member.members import cards
    from wx_member.platform.errors import DomainError

    if not yes:
        fail("the old card stops working at once; add --yes to confirm")
    with runtime().sessions() as uow:
        try:
            done = cards.report_lost(uow, who, by=by)
        except DomainError as exc:
            fail(f"{exc} ({exc.user_message})")
    click.echo(f"member {done.member_id}: card {done.old_card_no} blocked, new card "
               f"{done.card_no}")


@member.command("merge")
@click.argument("survivor", metavar="SURVIVOR_CARD")
@click.argument("other", metavar="DUPLICATE_OPENID|CARD")
@click.option("--by", required=True, help="the operator merging (audited)")
@click.option("--yes", is_flag=True, help="confirm (undoable within 7 days: member unmerge)")
def merge_command(survivor: str, other: str, by: str, yes: bool) -> None:
    """Merge a duplicate member into SURVIVOR_CARD's: points, stored value, coupons,
    orders, tags and history move; the duplicate's card number finds the survivor."""
    from wx_member.members import lookup_view, merging
    from wx_member.platform.errors import DomainError

    if not yes:
        fail("add --yes to confirm (member unmerge undoes it within 7 days)")
    with runtime().sessions() as uow:
        try:
            found = lookup_view.find(uow, survivor)
            if found is None:
                fail(f"no member {survivor!r}")
            done = merging.merge_named(uow, found.id, other, by)
        except DomainError as exc:
            fail(f"{exc} ({exc.user_message})")
    click.echo(f"merge {done.merge_id}: member {done.absorbed_id} merged into "
               f"{done.survivor_id} ({done.points} points, {done.balance_fen} fen moved)")


@member.command("unmerge")
@click.argument("merge_id", type=int)
@click.option("--by", required=True, help="the operator undoing it (audited)")
def unmerge_command(merge_id: int, by: str) -> None:
    """Undo merge MERGE_ID (within 7 days)."""
    from wx_member.members import unmerging
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            row = unmerging.undo(uow, merge_id, by)
        except DomainError as exc:
            fail(f"{exc} ({exc.user_message})")
    click.echo(f"merge {row.id} undone: member {row.absorbed_id} is separate again")
