"""Alembic environment. Run through `wx-member db upgrade` (see wx_member/migrate.py)."""
from alembic import context
from sqlalchemy import event

from wx_member.db import make_engine
from wx_member.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys_off(engine) -> None:
    """SQLite alters a table by copying it and dropping the original; with foreign keys on,
    dropping a table other rows point to fails (the pragma cannot change inside the
    migration's transaction, so it is set as each connection opens, after make_engine's)."""
    @event.listens_for(engine, "connect")
    def _off(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys_off(engine)
    with engine.connect() as connection:
        # render_as_batch: SQLite can only alter tables by copying them.
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:  # what the copies did must still hold together
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
