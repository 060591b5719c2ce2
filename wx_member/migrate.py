"""Alembic, driven from code: the schema is created only by migrations (also in tests)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from wx_member.config import REPO_ROOT
from wx_member.db import READ_ONLY


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """'heads': independent areas may branch from a common revision until a merge."""
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
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
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
