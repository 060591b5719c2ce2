"""The points expiry run over a large ledger, against a plain aggregate of the same table.

    scripts/mariadb start
    .venv/bin/python bench/expiry.py [--members 1000000] [--rows 10000000]
                                     [--database "$(scripts/mariadb url)"] [--keep | --reuse]

Works in its own database next to the one in the URL (`<name>_bench_expiry`, dropped at the
end unless --keep or --reuse), built by the migrations. `--reuse` keeps it between runs and
seeds only when it does not hold the asked size yet; a reused database is first put back as
seeded (the expiry rows deleted, the balances moved back), so every run starts alike. Seeding is done by the server: INSERT … SELECT
over MariaDB's sequence tables (`seq_1_to_N`), in slices of members, no rows through Python.
`--database sqlite` runs the same on a temporary SQLite file (recursive CTEs; small sizes).

The ledger: each member has rows/members rows, two lots then a debit of half the last lot,
repeated; lots earned every 70 days going back from the run, each lapsing 12 months later.
So every member has lapsed lots, some partly spent: the run writes one expiry row per member
and moves every balance (the year-end clearing case, the heaviest day of the year).

Prints the seeding time, the baseline (SELECT member_id, SUM(delta) … GROUP BY member_id,
aggregated on the server), the expiry run (ledger rows/s, seconds, members and points), a
replay (writes nothing), with `--then DAYS` a run DAYS later from the mark the first one
left (86: every member's next lot has lapsed), their ratios to the baseline, and for the run and the replay each
statement shape with its count, rows and seconds and its plan (`--no-explain`: without);
then checks balance = ledger sum for every member, and prints the machine's load.
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
sys.path.insert(0, str(ROOT / "bench"))
import sqlalchemy as sa  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.db import make_engine, make_session_factory  # noqa: E402
from wx_member.loyalty import expiry_run  # noqa: E402
from statements_profile import StatementProfile  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
RUN_ON = date(2026, 12, 1)  # the local day of the run
NOW = datetime(2026, 11, 30, 16, 5)  # 00:05 on RUN_ON in Shanghai, UTC
SLICE = 50_000  # members per seeding statement


def default_url() -> str:
    return subprocess.run([str(ROOT / "scripts" / "mariadb"), "url"], capture_output=True,
                          text=True, check=True).stdout.strip()


def bench_database(url: str, reuse: bool) -> str:
    if url == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/expiry.db"
    u = sa.make_url(url)
    name = f"{u.database or 'wx_member'}_bench_expiry"
    admin = sa.create_engine(u.set(database=""), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not reuse:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        c.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4 "
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
        (lambda x: f"datetime('{NOW}', (-({x})) || ' days')")  # '-335 days', '85 days'
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


def seeded(engine: sa.Engine, members: int, rows: int) -> bool:
    """Whether the database holds the seeded members and ledger rows (expiry rows aside)."""
    with engine.connect() as c:
        n = c.exec_driver_sql("SELECT COUNT(*) FROM member").scalar()
        lots = c.exec_driver_sql("SELECT COUNT(*) FROM points_ledger").scalar() - \
            c.exec_driver_sql("SELECT COUNT(*) FROM points_ledger WHERE reason = 'expire'").scalar()
    return n == members and lots == rows


def reset(engine: sa.Engine) -> None:
    """Back to as seeded: the balances moved back by the expiry rows, which are deleted."""
    with engine.begin() as c:
        update = ("UPDATE member m JOIN (SELECT member_id, SUM(delta) AS s FROM points_ledger "
                  "WHERE reason = 'expire' GROUP BY member_id) e ON e.member_id = m.id "
                  "SET m.points_balance = m.points_balance - e.s")
        if engine.dialect.name == "sqlite":
            update = ("UPDATE member SET points_balance = points_balance - e.s FROM (SELECT "
                      "member_id, SUM(delta) AS s FROM points_ledger WHERE reason = 'expire' "
                      "GROUP BY member_id) e WHERE e.member_id = member.id")
        c.exec_driver_sql(update)
        c.exec_driver_sql("DELETE FROM points_ledger WHERE reason = 'expire'")
        if sa.inspect(c).has_table("points_expiry_mark"):
            c.exec_driver_sql("DELETE FROM points_expiry_mark")


def timed(engine: sa.Engine, explain: bool, what, *args, **kw):
    """`what(*args, **kw)`, with its statements profiled: (its result, the profile)."""
    with StatementProfile(engine) as prof:
        result = what(*args, **kw)
    return result, prof.report(engine, explain=explain), prof.seconds


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


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
    ap.add_argument("--chunk", type=int, default=expiry_run.CHUNK,
                    help="members per transaction in the run")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the bench database and reuse it when seeded at this size")
    ap.add_argument("--then", type=int, default=0, metavar="DAYS",
                    help="after the replay, run again DAYS later (86: every member's next "
                    "lot has lapsed), from the mark the first run left")
    ap.add_argument("--no-explain", dest="explain", action="store_false",
                    help="statement figures without their plans")
    args = ap.parse_args()
    per_member = max(1, args.rows // args.members)
    rows = args.members * per_member
    url = bench_database(args.database or default_url(), args.reuse)
    started = time.perf_counter()
    migrate.upgrade(url)
    print(f"migrations: {time.perf_counter() - started:.1f} s", flush=True)
    engine = make_engine(url)
    print(f"{engine.dialect.name}: {args.members:,} members × {per_member} = {rows:,} ledger "
          f"rows; load {load()}", flush=True)
    started = time.perf_counter()
    if args.reuse and seeded(engine, args.members, rows):
        reset(engine)
        print(f"reused the seeded database, reset in {time.perf_counter() - started:.1f} s")
    else:
        print("seeding ... ", end="", flush=True)
        seed(engine, args.members, per_member)
        print(f"{time.perf_counter() - started:.1f} s", flush=True)
    try:
        base = baseline(engine)
        print(f"baseline  SUM(delta) GROUP BY member_id: {base:6.1f} s  "
              f"{rows / base:12,.0f} rows/s", flush=True)
        sessions = make_session_factory(engine, TZ)
        with sessions() as s:
            result, profile, in_db = timed(engine, args.explain, expiry_run.run, s, tz=TZ,
                                           now=NOW, chunk=args.chunk)
        print(f"expiry run as of {result.as_of}: {result.seconds:6.1f} s  "
              f"{rows / result.seconds:12,.0f} rows/s; expired {result.points:,} points of "
              f"{result.members:,} members; {result.seconds / base:.2f}× the baseline; "
              f"{in_db:.1f} s in statements:\n{profile}", flush=True)
        with sessions() as s:
            replay, profile, in_db = timed(engine, args.explain, expiry_run.run, s, tz=TZ,
                                           now=NOW + timedelta(hours=1), chunk=args.chunk)
        print(f"replay: {replay.seconds:.2f} s, expired {replay.points} points "
              f"of {replay.members} members; {replay.seconds / base:.2f}× the baseline; "
              f"{in_db:.2f} s in statements:\n{profile}")
        if args.then:  # the next lots to lapse, from the mark the run left
            with sessions() as s:
                later, profile, in_db = timed(engine, args.explain, expiry_run.run, s, tz=TZ,
                                              now=NOW + timedelta(days=args.then),
                                              chunk=args.chunk)
            print(f"run {args.then} days later, from the mark: {later.seconds:.1f} s, "
                  f"looked at {later.visited:,} members, expired {later.points:,} points of "
                  f"{later.members:,}; {later.seconds / base:.2f}× the baseline; "
                  f"{in_db:.1f} s in statements:\n{profile}")
        print(f"members with balance ≠ ledger sum or < 0: {check(engine)}")
        print(f"SUMMARY baseline {base:.1f} s, run {result.seconds:.1f} s "
              f"({result.seconds / base:.2f}×), replay {replay.seconds:.2f} s "
              f"({replay.seconds / base:.2f}×); load {load()}")
    finally:
        engine.dispose()
        keep = args.keep or args.reuse
        if not keep and engine.dialect.name == "mysql":
            admin = sa.create_engine(sa.make_url(url).set(database=""),
                                     isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE IF EXISTS {sa.make_url(url).database}")
            admin.dispose()


if __name__ == "__main__":
    main()
