"""`wx-member settings …`: programme rules stored in the database."""
from __future__ import annotations

import click

from wx_member.cli.common import fail, runtime


@click.group("settings")
def settings_group() -> None:
    """Programme rules stored in the database."""


@settings_group.command("show")
def settings_show() -> None:
    """Every setting in force (stored, or its default)."""
    from wx_member.platform import settings_view

    with runtime().sessions() as uow:
        values = settings_view.current(uow)
    for key, value in values.items():
        click.echo(f"{key} = {value}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--by", default="cli", help="who changes it (kept with the value)")
def settings_set(key: str, value: str, by: str) -> None:
    """Set KEY to VALUE (checked against the setting's kind; audited)."""
    from wx_member.platform import settings
    from wx_member.platform.errors import DomainError

    with runtime().sessions() as uow:
        try:
            settings.change(uow, key, settings.parse(key, value), by)
        except DomainError as exc:
            fail(str(exc))
    click.echo(f"{key} = {value}")
