"""Rows written around the ORM, inside the caller's transaction: `insert_ignoring_duplicates`
(one statement for many rows; a duplicate unique key adds nothing) and the hot path's
`insert_row` and `loaded` (a Core INSERT built once per table, and the row it wrote as a
persistent ORM object). The transactions themselves are wx_member/db.py's.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from wx_member import statements


def insert_ignoring_duplicates(session: Session, table, rows: list[dict]) -> None:
    """Insert `rows` in the caller's transaction; a row whose unique key already exists is
    left as it is (planning or issuing twice, in two processes or after a restart, adds
    nothing). One statement for all rows."""
    if not rows:
        return
    from sqlalchemy.dialects.mysql import insert as mysql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        stmt = mysql_insert(table)
        stmt = stmt.on_duplicate_key_update(id=stmt.table.c.id)  # a no-op, unlike IGNORE
    else:
        stmt = insert(table)
    session.execute(stmt, rows)


# -- hot-path writes without the unit of work ---------------------------------------------
# A Core INSERT built once per table and executed with a dict costs about a third of an
# ORM add() + flush(), which builds, sorts and compiles its statement every time. The join
# path writes its rows this way, and `loaded` turns a row it wrote into a persistent ORM
# object, so the rules that take ORM objects work unchanged.
O = TypeVar("O")
_INSERTS: dict[Table, tuple[Insert, dict, tuple]] = {}


def _insert_for(table: Table) -> tuple[Insert, dict, tuple]:
    """The table's INSERT, its columns' fixed defaults (in column order; None also stands
    for a callable default, computed per row) and its callable defaults."""
    found = _INSERTS.get(table)
    if found is None:
        fixed, computed = {}, []
        for col in table.columns:
            if col.primary_key:
                continue  # the database assigns it
            if col.default is None:
                if col.server_default is None:
                    fixed[col.key] = None  # NULL, as an INSERT without it would leave
                # else: the database fills it in; the attribute loads on first access
            elif col.default.is_callable:
                fixed[col.key] = None
                computed.append((col.key, col.default.arg))
            elif col.default.is_scalar:
                fixed[col.key] = col.default.arg
        found = _INSERTS[table] = (insert(table), fixed, tuple(computed))
    return found


def insert_row(session: Session, cls: type, **values) -> dict:
    """INSERT one row of `cls`'s table and return it as written, primary key included.
    Columns not given take their Python defaults, computed here, so the returned row is
    exactly the stored one. A Core statement: no autoflush of pending ORM changes."""
    table = cls.__table__
    stmt, fixed, computed = _insert_for(table)
    if not values.keys() <= fixed.keys():
        unknown = values.keys() - fixed.keys()
        raise TypeError(f"{cls.__name__} has no column(s) {', '.join(sorted(unknown))}")
    row = dict(fixed)
    row.update(values)  # the keys keep the columns' order: one compiled INSERT per set
    for key, make in computed:
        if key not in values:
            row[key] = make(None)
    pks = table.primary_key.columns
    if len(pks) == 1 and pks[0].autoincrement in (True, "auto"):  # the id is lastrowid
        row[next(iter(pks)).key] = statements.run(session, stmt, row, insert=True).lastrowid
        return row
    pk = session.execute(stmt, row).inserted_primary_key
    row.update((col.key, value) for col, value in zip(pks, pk))
    return row


def loaded(session: Session, cls: type[O], row: dict) -> O:
    """`row`, which this transaction wrote with Core statements, as a persistent object of
    `session` holding it as loaded state: no flush, no re-read (columns missing from `row`
    load on first access). Call it once the row is certain (after its savepoint): unlike
    a flushed object, it is not expunged if the writing savepoint rolls back."""
    # What `cls(**row)` then `make_transient_to_detached` do, without the constructor
    # setting each attribute as a change and the state then committing them all again
    # (two thirds of the cost, 15 columns for a member): the row goes straight into the
    # new object's dict as its loaded state.
    obj = cls._sa_class_manager.new_instance()
    state = instance_state(obj)
    state.mapper._check_configure()  # as the constructor would: a fresh worker's first object
    state.dict.update(row)
    state.key = state.mapper._identity_key_from_state(state)
    state._expire_attributes(state.dict, state.unloaded)  # the rest: loaded on first access
    # What session.add does for it, less its walk of the mapper's relationships for
    # objects to cascade to (a fresh row has none loaded: the walk found nothing, and was
    # a third of this function).
    session._save_or_update_impl(state)
    return obj
