"""The hot path's writes: Core statements compiled once per dialect and run straight on the
DBAPI cursor of the session's connection, inside its transaction.

`session.execute(stmt)` costs about 150 µs a statement on the shared 2-core machine, most
of it SQLAlchemy's machinery around a statement it has already compiled and cached (cache
key, execution context, result object); the cursor's own `execute` costs about 30. A join
sends a dozen statements, so this is a third of its CPU. `run` keeps what matters of that
machinery: the statement is compiled by the dialect (its SQL and the order of its
parameters), every parameter goes through its type's bind processor (how a datetime is
stored), and a DBAPI error becomes SQLAlchemy's (IntegrityError, OperationalError), so
callers catch what they caught before and `db.retrying` still sees a deadlock.

For INSERT and UPDATE (and a RETURNING of plain integers): the caller reads the cursor's
`lastrowid`, `rowcount` or `fetchall()`. A SELECT that loads no ORM objects goes through
`fetch`: on the cursor too, its rows as named tuples with each column's result processing
(dates, JSON, booleans) applied; `rows` gives SQLAlchemy's Core result on the same
connection instead. A connection with a
`before_cursor_execute` or `after_cursor_execute` listener (bench/ and tests count or
probe statements with one) takes the ordinary path, so every statement is still seen.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


class _Compiled:
    __slots__ = ("sql", "keys", "processors", "positional", "columns", "row", "fixed")

    def __init__(self, stmt: ClauseElement, dialect, keys: tuple[str, ...] | None):
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise TypeError("statements.run takes no expanding or literal parameters")
        self.sql = compiled.string
        self.positional = compiled.positional
        self.keys = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        self.processors = compiled._bind_processors
        # Values the statement was built with (`status == "available"`), not passed per call.
        self.fixed = {name: bind.effective_value for name, bind in compiled.binds.items()
                      if not bind.required}
        # A SELECT's columns: each one's type's result processor (a datetime from SQLite's
        # text, JSON from its text, a boolean from 0/1), and a named tuple to hold a row.
        self.columns = [(entry.keyname, entry.type._cached_result_processor(dialect, None))
                        for entry in compiled._result_columns]
        self.row = namedtuple("Row", [k for k, _ in self.columns], rename=True)

    def parameters(self, params: dict[str, Any]):
        procs = self.processors
        if self.fixed:
            params = {**self.fixed, **params}
        if self.positional:
            return [procs[k](params[k]) if k in procs else params[k] for k in self.keys]
        return {k: procs[k](params[k]) if k in procs else params[k] for k in self.keys}


_CACHE: dict[tuple[int, str, str, tuple[str, ...] | None], tuple[ClauseElement, _Compiled]] = {}


def _compiled(stmt: ClauseElement, dialect, keys: tuple[str, ...] | None) -> _Compiled:
    cache_key = (id(stmt), dialect.name, dialect.driver, keys)
    found = _CACHE.get(cache_key)
    if found is None or found[0] is not stmt:  # the statement object is held: its id stays its own
        found = _CACHE[cache_key] = (stmt, _Compiled(stmt, dialect, keys))
    return found[1]


_HELD = "wx_statements_connection"  # session.info: (its transaction, Connection, DBAPI
# connection, whether a listener watches its statements)


def _held(session: Session):
    """The session's Connection, DBAPI connection and whether a listener watches it, in
    its current transaction. session.connection() walks the session's transaction to its
    connection each time (a fifth of `run`'s cost): remembered for the transaction, and so
    is the question to the event system (a listener is added between transactions)."""
    transaction = session.get_transaction()
    held = session.info.get(_HELD)
    if held is None or held[0] is not transaction or transaction is None:
        conn = session.connection()
        held = session.info[_HELD] = (transaction, conn, conn.connection.dbapi_connection,
                                      _watched(conn))
    return held[1:]


def rows(session: Session, stmt: ClauseElement, params: dict[str, Any] | None = None):
    """A Core SELECT (built once, at import) on the session's connection: SQLAlchemy's
    result with its type processing (dates, JSON), without the ORM's execute around it
    (about half the cost of `session.execute` for a statement that loads no objects)."""
    return _held(session)[0].execute(stmt, params or {})


def _watched(conn) -> bool:
    """A listener wants to see each statement: take SQLAlchemy's ordinary path."""
    dispatch = conn.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def fetch(session: Session, stmt: ClauseElement, params: dict[str, Any] | None = None) -> list:
    """A Core SELECT (built once, at import) run on the cursor like `run`, its rows as named
    tuples with each column's result processing applied (what `rows` gives, read the same
    way by attribute or position, for a third of its cost: the join reads its settings and
    its coupon template this way)."""
    params = params or {}
    conn, dbapi_connection, watched = _held(session)
    if watched:
        return conn.execute(stmt, params).all()
    dialect = conn.dialect
    compiled = _compiled(stmt, dialect, None)
    args = compiled.parameters(params)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(compiled.sql, args)
        found = cursor.fetchall()
    except dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(compiled.sql, args, error, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from error
    finally:
        cursor.close()
    make, procs = compiled.row, [p for _, p in compiled.columns]
    if not any(procs):
        return [make(*r) for r in found]
    return [make(*[p(v) if p else v for p, v in zip(procs, r)]) for r in found]


def run(session: Session, stmt: ClauseElement, params: dict[str, Any], *,
        insert: bool = False):
    """Execute `stmt` (built once, at import) with `params` in the session's transaction;
    returns the DBAPI cursor. `insert=True`: an INSERT of exactly the columns in `params`
    (compiled for that set of columns)."""
    conn, dbapi_connection, watched = _held(session)
    if watched:
        return _Ordinary(conn.execute(stmt, params))
    dialect = conn.dialect
    compiled = _compiled(stmt, dialect, tuple(params) if insert else None)
    args = compiled.parameters(params)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(compiled.sql, args)
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise exc.DBAPIError.instance(compiled.sql, args, error, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from error
    return cursor


class _Ordinary:
    """A SQLAlchemy result that answers like the cursor `run` returns."""

    def __init__(self, result):
        self.result = result

    @property
    def lastrowid(self):
        return self.result.lastrowid

    @property
    def rowcount(self) -> int:
        return self.result.rowcount

    def fetchall(self):
        return self.result.fetchall()

    def close(self) -> None:
        self.result.close()
