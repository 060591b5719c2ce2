"""`wx-member db …`: the database schema (Alembic migrations)."""
from __future__ import annotations

import click

from wx_member.cli.common import config


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to --revision (default: all heads); makes the schema of a new
    database (a SQLite file and its directory are created)."""
    from wx_member import migrate

    url = config().database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}: {url.split('@')[-1]}")
