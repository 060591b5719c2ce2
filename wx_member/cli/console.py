"""`wx-member` sub-commands of the operator console: the first admin account."""
from __future__ import annotations

import sys

import click

from wx_member.cli.common import runtime


@click.command("create-admin")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "operator", "viewer", "manager", "clerk"]),
              default="admin", show_default=True,
              help="manager / clerk: a store's account (needs --store)")
@click.option("--store", help="the store code of a manager or clerk")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_admin_command(username: str, role: str, password_stdin: bool,
                         store: str | None) -> None:
    """Create a console account USERNAME (the first admin; then use the console)."""
    from wx_member.console import operators
    from wx_member.platform.errors import DomainError

    rt = runtime()  # a database without the schema fails before the password is asked for
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with rt.sessions() as uow:
        try:
            operators.create(uow, username, password, role, by="cli", store=store)
        except DomainError as exc:
            click.echo(f"error: {exc.user_message} ({exc})", err=True)
            sys.exit(2)
    click.echo(f"created {role} {username}; log in at /admin/login")

