"""The models and the migrations describe one schema, on SQLite and MariaDB.

Production's tables come from the migrations and the code reads them through the models:
an index named in a model but made differently (or not at all) by its migration is one the
code's authors, and tests/test_query_plans.py's readers, believe in and the database lacks.
Alembic's autogenerate comparison finds any table, column, type, index or unique key the
two disagree on."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wx_member import migrate
from wx_member.db import make_engine
from wx_member.models import Base


# Indexes the models make on SQLite alone (`.ddl_if(dialect="sqlite")`): autogenerate's
# comparison does not read that condition.
_SQLITE_ONLY = {index.name for table in Base.metadata.tables.values()
                for index in table.indexes
                if getattr(index, "_ddl_if", None) is not None
                and index._ddl_if.dialect == "sqlite"}


def _differences(engine) -> list:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    left = []
    for diff in found:
        if isinstance(diff, list):  # column changes come as a list of ("modify_…", …)
            left.append(diff)
            continue
        kind, thing = diff[0], diff[1]
        table = thing if kind.endswith("_table") else getattr(thing, "table", None)
        if getattr(table, "name", "") == "apscheduler_jobs":
            continue  # APScheduler's job store: its table, made by migration 0003, no model
        if kind == "add_index" and engine.dialect.name != "sqlite" \
                and thing.name in _SQLITE_ONLY:
            continue  # a partial index SQLite alone makes (models.core.sparse_index)
        left.append(diff)
    return left


def test_the_migrated_database_is_the_models_schema(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_model_index_its_migration_lacks_is_found(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_coupon_status_until" if engine.dialect.name
                                 == "sqlite" else "DROP INDEX ix_coupon_status_until ON coupon")
        assert [(d[0], d[1].name) for d in _differences(engine)] \
            == [("add_index", "ix_coupon_status_until")]
    finally:
        engine.dispose()
