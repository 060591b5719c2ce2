"""Alembic, driven from code: the schema is created only by migrations (also in tests)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url

from wx_member.config import REPO_ROOT
from wx_member.db import READ_ONLY


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """'heads': independent areas may branch from a common revision until a merge. A SQLite
    file's directory is made first (the default, instance/, may not exist yet)."""
    path = sqlite_file(make_url(database_url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def is_at_head(engine: Engine) -> bool:
    return schema_state(engine) == "current"


def schema_state(engine: Engine) -> str:
    """'current': the database is at this code's heads. 'newer': it carries a revision this
    code does not know, i.e. a newer release has migrated it while this one still serves (a
    rolling upgrade); migrations are additive first (docs/deploy.md), so this code still
    works on it. 'behind': this code needs migrations the database lacks."""
    script = _script()
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == set(script.get_heads()):
        return "current"
    for revision in current:
        try:
            script.get_revision(revision)
        except Exception:  # alembic raises ResolutionError / CommandError for unknown ids
            return "newer"
    return "behind"


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    """The migration scripts, read once per process (they do not change under it); every
    start-up check and readiness probe compares the database with their heads."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


class SchemaNotReady(Exception):
    """The database lacks this code's schema: `wx-member db upgrade` has not run on it."""


def require_schema(engine: Engine) -> None:
    """Raise SchemaNotReady, with one line saying what to run, unless the database has this
    code's schema or a newer one (see schema_state). A SQLite file that does not exist is
    refused before connecting, which would create it empty."""
    shown = engine.url.render_as_string(hide_password=True)
    not_ready = SchemaNotReady(f"the database at {shown} has no schema (or is behind): "
                               "run `wx-member db upgrade`")
    path = sqlite_file(engine.url)
    if path is not None and not path.exists():
        raise not_ready
    from sqlalchemy.exc import DBAPIError

    try:
        state = schema_state(engine)
    except DBAPIError as exc:  # unreachable server, wrong password, not a database file
        raise SchemaNotReady(f"cannot use the database at {shown}: {exc.orig}") from None
    if state == "behind":
        raise not_ready


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (relative to the working directory, as SQLite opens it);
    None for other databases, in-memory ones and `file:` URIs."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None
    return Path(url.database)
