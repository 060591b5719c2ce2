"""What a piece of code spends its database time on: every statement an engine runs, grouped
by SQL shape (the statement text, parameters bound), with how many times it ran, the rows it
returned or affected, and its seconds; then the plan of each shape (MariaDB `EXPLAIN`, SQLite
`EXPLAIN QUERY PLAN`) for the parameters of its first execution.

    with StatementProfile(engine) as prof:
        ...  # the code to look at
    prof.report(engine)

Timed around the driver's execute (SQLAlchemy's cursor events), so the figures include the
round trip but not Python's work between statements; what is left of the wall time is that.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import sqlalchemy as sa


@dataclass
class Shape:
    sql: str
    params: object  # of the first execution, for EXPLAIN
    runs: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class StatementProfile:
    engine: sa.Engine
    shapes: dict[str, Shape] = field(default_factory=dict)

    def __enter__(self) -> "StatementProfile":
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["profile_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info.pop("profile_started", time.perf_counter())
        shape = self.shapes.setdefault(statement, Shape(statement, parameters))
        shape.runs += 1
        shape.seconds += seconds
        shape.rows += max(cursor.rowcount or 0, 0)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.shapes.values())

    def report(self, engine: sa.Engine, explain: bool = True, top: int = 8) -> str:
        """The shapes by time spent, most first (the `top` costliest; the rest summed)."""
        out = []
        shapes = sorted(self.shapes.values(), key=lambda s: -s.seconds)
        for s in shapes[:top]:
            out.append(f"  {s.seconds:7.2f} s  {s.runs:6,}×  {s.rows:12,} rows  "
                       f"{_brief(s.sql)}")
            if explain and _explainable(s.sql):
                out.extend(f"             {line}" for line in plan(engine, s.sql, s.params))
        rest = shapes[top:]
        if rest:
            out.append(f"  {sum(s.seconds for s in rest):7.2f} s  {sum(s.runs for s in rest):6,}×"
                       f"  {len(rest)} other statement shapes")
        return "\n".join(out)


def _brief(sql: str, width: int = 220) -> str:
    one = re.sub(r"\s+", " ", sql).strip()
    return one if len(one) <= width else one[:width - 1] + "…"


def _explainable(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE",
                                                       "WITH")


def plan(engine: sa.Engine, sql: str, params: object) -> list[str]:
    """The database's plan for one statement, a line per table access."""
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    try:
        with engine.connect() as c:
            cur = c.connection.driver_connection.cursor()
            cur.execute(prefix + sql, params or ())
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
    except Exception as exc:  # a plan is information; the bench goes on without it
        return [f"(no plan: {type(exc).__name__}: {str(exc)[:120]})"]
    if sqlite:
        return [str(r[-1]) for r in rows]
    keep = ("select_type", "table", "type", "key", "rows", "Extra")
    return [" ".join(f"{k}={r[names.index(k)]}" for k in keep if k in names) for r in rows]
