"""The points expiry run over a large ledger, against a plain aggregate of the same table.

    scripts/mariadb start
    .venv/bin/python bench/expiry.py [--members 1000000] [--rows 10000000]
                                     [--database "$(scripts/mariadb url)"] [--keep]

Works in its own database next to the one in the URL (`<name>_bench_expiry`, dropped at the
end unless --keep), built by the migrations. Seeding is done by the server: INSERT … SELECT
over MariaDB's sequence tables (`seq_1_to_N`), in slices of members, no rows through Python.
`--database sqlite` runs the same on a temporary SQLite file (recursive CTEs; small sizes).

The ledger: each member has rows/members rows, two lots then a debit of half the last lot,
repeated; lots earned every 70 days going back from the run, each lapsing 12 months later.
So every member has lapsed lots, some partly spent: the run writes one expiry row per member
and moves every balance (the year-end clearing case, the heaviest day of the year).

Prints the seeding time, the baseline (SELECT member_id, SUM(delta) … GROUP BY member_id,
aggregated on the server), the expiry run (ledger rows/s, seconds, members and points), the
ratio, a replay (writes nothing), and checks balance = ledger sum for every member.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import sqlalchemy as sa  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.db import make_engine, make_session_factory  # noqa: E402
from wx_member.loyalty import points_expiry

TZ = ZoneInfo("Asia/Shanghai")
RUN_ON = date(2026, 12, 1)  # the local day of the run
NOW = datetime(2026, 11, 30, 16, 5)  # 00:05 on RUN_ON in Shanghai, UTC
SLICE = 50_000  # members per seeding statement


def default_url() -> str:
    return subprocess.run([str(ROOT / "scripts" / "mariadb"), "url"], capture_output=True,
                          text=True, check=True).stdout.strip()


def bench_database(url: str) -> str:
    if url == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/expiry.db"
    u = sa.make_url(url)
    name = f"{u.database or 'wx_member'}_bench_expiry"
    admin = sa.create_engine(u.set(database=""), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        c.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                          f"COLLATE utf8mb4_unicode_ci")
    admin.dispose()
    return u.set(database=name).render_as_string(hide_password=False)


def numbers(dialect: str, lo: int, hi: int, alias: str) -> str:
    """Rows lo..hi (inclusive) in column `seq`."""
    if dialect == "mysql":  # the sequence engine's seq is unsigned: (k - 1) would overflow
        return f"(SELECT CAST(seq AS SIGNED) AS seq FROM seq_{lo}_to_{hi}) {alias}"
    return (f"(WITH RECURSIVE n(seq) AS (SELECT {lo} UNION ALL SELECT seq + 1 FROM n "
            f"WHERE seq < {hi}) SELECT seq FROM n) {alias}")


def sql(c: sa.Connection, statement: str) -> None:
    """Literal SQL: PyMySQL's paramstyle would read % (modulo) as a placeholder."""
    c.exec_driver_sql(statement.replace("%", "%%") if c.dialect.name == "mysql" else statement)


def seed(engine: sa.Engine, members: int, per_member: int) -> None:
    d = engine.dialect.name
    concat = (lambda *p: f"CONCAT({', '.join(p)})") if d == "mysql" else (lambda *p: " || ".join(p))
    pad = (lambda x, n: f"LPAD({x}, {n}, '0')") if d == "mysql" else \
        (lambda x, n: f"substr('{'0' * n}' || {x}, -{n}, {n})")
    days = (lambda x: f"DATE_SUB('{NOW}', INTERVAL {x} DAY)") if d == "mysql" else \
        (lambda x: f"datetime('{NOW}', '-' || ({x}) || ' days')")
    # Lot k: earned (n-k)*70 days before the run, lapsing 365 days after; every third row
    # is a debit of half the lot before it. Amounts vary by member and row.
    openid, card = concat("'oB'", pad("m.seq", 9)), concat("'7'", pad("m.seq", 9))
    key = concat("'b:'", pad("m.seq", 9), "':'", pad("k.seq", 3))
    amount = "(10 + (m.seq * 7 + k.seq * 13) % 90)"
    before = "(10 + (m.seq * 7 + (k.seq - 1) * 13) % 90)"
    earned = days(f"({per_member} - k.seq) * 70")
    lapses = days(f"({per_member} - k.seq) * 70 - 365")
    with engine.begin() as c:
        for lo in range(1, members + 1, SLICE):
            hi = min(members, lo + SLICE - 1)
            sql(c,
                "INSERT INTO member (id, openid, card_no, tier, points_balance, total_spend_fen,"
                " subscribed, joined_at) SELECT m.seq, "
                f"{openid}, {card}, 'normal', 0, 0, 1, "
                f"'{NOW}' FROM {numbers(d, lo, hi, 'm')}")
            sql(c,
                "INSERT INTO points_ledger (member_id, delta, reason, idem_key, source,"
                " expires_at, created_at) SELECT m.seq, "
                f"CASE WHEN k.seq % 3 = 2 THEN -(({before} - {before} % 2) / 2) "
                f"ELSE {amount} END, "
                "CASE WHEN k.seq % 3 = 2 THEN 'redeem_gift' ELSE 'purchase' END, "
                f"{key}, "
                f"NULL, CASE WHEN k.seq % 3 = 2 THEN NULL ELSE {lapses} END, {earned} "
                f"FROM {numbers(d, lo, hi, 'm')} CROSS JOIN "
                f"{numbers(d, 0, per_member - 1, 'k')}")
    with engine.begin() as c:  # the cached balance, as the ledger says
        c.exec_driver_sql(
            "UPDATE member SET points_balance = (SELECT COALESCE(SUM(delta), 0) FROM "
            "points_ledger l WHERE l.member_id = member.id)")


def baseline(engine: sa.Engine) -> float:
    started = time.perf_counter()
    with engine.connect() as c:
        c.exec_driver_sql("SELECT COUNT(*), SUM(s) FROM (SELECT member_id, SUM(delta) AS s "
                          "FROM points_ledger GROUP BY member_id) t").one()
    return time.perf_counter() - started


def check(engine: sa.Engine) -> int:
    """Members whose cached balance differs from their ledger sum, or is negative."""
    with engine.connect() as c:
        return c.exec_driver_sql(
            "SELECT COUNT(*) FROM member m JOIN (SELECT member_id, SUM(delta) AS s FROM "
            "points_ledger GROUP BY member_id) t ON t.member_id = m.id "
            "WHERE t.s <> m.points_balance OR m.points_balance < 0").scalar()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--database", default=None, help="server URL (default: scripts/mariadb url)"
                    " or 'sqlite'")
    ap.add_argument("--chunk", type=int, default=points_expiry.CHUNK,
                    help="members per transaction in the run")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    args = ap.parse_args()
    per_member = max(1, args.rows // args.members)
    url = bench_database(args.database or default_url())
    migrate.upgrade(url)
    engine = make_engine(url)
    rows = args.members * per_member
    print(f"{engine.dialect.name}: {args.members:,} members × {per_member} = {rows:,} ledger "
          f"rows; seeding ... ", end="", flush=True)
    started = time.perf_counter()
    seed(engine, args.members, per_member)
    print(f"{time.perf_counter() - started:.1f} s", flush=True)
    try:
        base = baseline(engine)
        print(f"baseline  SUM(delta) GROUP BY member_id: {base:6.1f} s  "
              f"{rows / base:12,.0f} rows/s", flush=True)
        sessions = make_session_factory(engine, TZ)
        with sessions() as s:
            result = points_expiry.run(s, tz=TZ, now=NOW, chunk=args.chunk)
        print(f"expiry run as of {result.as_of}: {result.seconds:6.1f} s  "
              f"{rows / result.seconds:12,.0f} rows/s; expired {result.points:,} points of "
              f"{result.members:,} members; {result.seconds / base:.1f}× the baseline",
              flush=True)
        with sessions() as s:
            replay = points_expiry.run(s, tz=TZ, now=NOW + timedelta(hours=1), chunk=args.chunk)
        print(f"replay: {replay.seconds:.1f} s, expired {replay.points} points "
              f"of {replay.members} members")
        print(f"members with balance ≠ ledger sum or < 0: {check(engine)}")
    finally:
        engine.dispose()
        if not args.keep and engine.dialect.name == "mysql":
            admin = sa.create_engine(sa.make_url(url).set(database=""),
                                     isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE IF EXISTS {sa.make_url(url).database}")
            admin.dispose()


if __name__ == "__main__":
    main()
