"""`wx-member member import FILE.csv`: bring an existing member list in
(services/member_import.py), with a progress bar."""
from __future__ import annotations

import sys

import click


@click.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="cli", show_default=True, help="who imports (audit log)")
@click.option("--skip-invalid", is_flag=True,
              help="import the good rows even if some are bad (default: import nothing)")
def import_command(path: str, by: str, skip_invalid: bool) -> None:
    """Import members: columns openid (required), phone, birthday (YYYY-MM-DD), tags
    (separated by spaces or |). Idempotent by openid."""
    from wx_member.cli import _runtime
    from wx_member.members import member_import
    from wx_member.platform.errors import DomainError

    with open(path, "rb") as f:
        data = f.read()
    try:
        rows, errors = member_import.parse(data)
    except DomainError as exc:
        click.echo(f"error: {exc.user_message}", err=True)
        sys.exit(2)
    for line, message in errors:
        click.echo(f"第 {line} 行：{message}", err=True)
    if errors and not skip_invalid:
        click.echo(f"error: {len(errors)} bad rows; nothing imported (fix them, or "
                   f"--skip-invalid to import the {len(rows)} good ones)", err=True)
        sys.exit(1)
    with _runtime().sessions() as session, \
            click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
        report = member_import.import_rows(session, rows, by, progress=bar.update)
    click.echo(f"imported {report.rows} rows: {report.created} new members, {report.updated} "
               f"updated, {report.unchanged} unchanged, {report.tags_added} tags added"
               + (f"; {len(errors)} bad rows skipped" if errors else ""))


def register(main: click.Group) -> None:
    main.commands["member"].add_command(import_command)
