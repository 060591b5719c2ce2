"""Join-path throughput of the webhook vs. a bare endpoint, both under gunicorn with the
shipped config (wx_member/gunicorn_conf.py), 2 sync workers, driven by wrk in the same run.

    .venv/bin/python bench/webhook.py [--seconds 10] [--rounds 3] [--connections 16]
        [--threads 2] [--workers 2] [--access-log on|off] [--database sqlite|URL]

Each request is a distinct subscribe-by-QR event from a new openid through the store
channel `store_01` (a real join: dedup key, member, card, scan row, sign-up points, sign-up
coupon, reply), signed with its own timestamp and nonce: the requests are built before the
clock starts and bench/rotate.lua hands wrk the next one for every request. The bare
endpoint (bench/bare_app.py) only checks the signature and parses the XML. Both servers run
under the same gunicorn config (the same access log: `--access-log`, default the shipped
`on`) and take turns (bare, join, join, bare, ...), so a change in the machine's load hits
both; the median of the rounds' ratios is printed. For every round: wrk's CPU (a round
whose client used a third or more of the CPU that it and the server used is flagged
CLIENT-BOUND: its bare figure is a floor, the ratio too high), the server's CPU per request,
how busy the whole machine was and its load. After each join round the script checks that
every request wrk completed made a member and none was sent twice; at the end it counts
the statements one join sends (the app in this process, a SQLAlchemy event listener).

`--floor` (default on) adds a third server taking its turn: bench/floor_app.py, the bare
endpoint plus a join's database work (the same rows, statements and transaction) written
straight on the DBAPI connection, none of the app's Python. floor/bare is what the database
work alone allows on this machine; join/floor is what the application's Python costs on
top of it.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import wrk  # noqa: E402
from servers import Server, local_database_pid  # noqa: E402
from wx_member.sandbox import Simulator  # noqa: E402

SCENE = "store_01"


def prepared(path: Path, url: str, token: str, appid: str, n: int, tag: str) -> Path:
    """`n` signed subscribe requests from new people, as raw HTTP for bench/rotate.lua."""
    sim = Simulator(url + "wechat", token=token, appid=appid)
    reqs = []
    for i in range(n):
        params, body = sim.prepare_event("subscribe", f"oBench{tag}{i:07d}",
                                         EventKey=f"qrscene_{SCENE}", Ticket="gQbench")
        reqs.append(wrk.raw_request(url, "POST", "/wechat", params,
                                    {"Content-Type": "text/xml"}, body))
    return wrk.write_requests(path, reqs)


def seed(db_url: str) -> None:
    """The store channel every request joins through (made by an operator beforehand; a
    database given with --database may have it from an earlier run)."""
    from sqlalchemy import insert, select

    from wx_member.db import make_engine
    from wx_member.clock import utcnow
    from wx_member.models import Channel

    engine = make_engine(db_url)
    with engine.begin() as conn:
        if conn.scalar(select(Channel.id).where(Channel.scene == SCENE)) is None:
            conn.execute(insert(Channel).values(scene=SCENE, name="门店 01", kind="store",
                                                permanent=True, created_at=utcnow()))
    engine.dispose()


def members(db_url: str) -> int:
    from sqlalchemy import func, select

    from wx_member.db import make_engine
    from wx_member.models import Member

    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Member))
    engine.dispose()
    return n


def statements_per_join(env: dict, run: str, n: int = 200) -> tuple[float, float, float | None]:
    """SQL statements one join sends to the database, BEGIN and COMMIT aside (how a
    transaction starts differs by backend and is not always a statement), its CPU time in
    milliseconds, from `n` joins through the app in this process, one at a time, and on
    SQLite the pages one join's COMMIT writes to the WAL (each a write of the whole page:
    what a commit costs grows with it; rows and the index entries they file)."""
    from sqlalchemy import event

    from wx_member.app import create_app
    from wx_member.config import Config

    os.environ.update(env)
    logging.disable(logging.WARNING)  # the figures only, not the app's log lines
    config = Config.from_env()
    app = create_app(config)
    engine = app.extensions["wx_member"].engine
    count = {"all": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            count["all"] += 1

    client = app.test_client()
    sim = Simulator("http://unused/wechat", token=config.token, appid=config.appid)

    def join_all(tag: str, k: int) -> None:
        for params, body in [sim.prepare_event("subscribe", f"oBench{run}{tag}{i:07d}",
                                               EventKey=f"qrscene_{SCENE}", Ticket="gQ")
                             for i in range(k)]:
            res = client.post("/wechat", query_string=params, data=body, content_type="text/xml")
            assert res.status_code == 200 and b"CDATA[" in res.data, res.data

    join_all("cw", 50)  # warm-up: statement caches, connection pool
    count["all"] = 0
    join_all("c", n)
    counted = count["all"] / n
    # Timed without the listener: with one, wx_member.statements takes SQLAlchemy's
    # ordinary path so that the count sees every statement.
    event.remove(engine, "before_cursor_execute", _count)
    cpu = time.process_time()
    join_all("t", n)
    cpu = time.process_time() - cpu
    engine.dispose()
    return counted, cpu / n * 1000, wal_pages_per_join(env["DATABASE_URL"], join_all)


def wal_pages_per_join(url: str, join_all, k: int = 25) -> float | None:
    """Pages `k` joins append to an emptied WAL, per join (bench/wal_pages.py names them):
    fewer than SQLite's automatic checkpoint (1,000 pages) lets pile up."""
    if not url.startswith("sqlite"):
        return None
    from wal_pages import pages_written

    pages, _ = pages_written(Path(url.split("///", 1)[1]), lambda: join_all("w", k))
    return len(pages) / k


def header(args, db_url: str) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"webhook benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
            f"{wrk.commit()}, {os.cpu_count()} cores, load {load}\n"
            f"  wrk -t{args.threads} -c{args.connections} -d{args.seconds}s x {args.rounds} "
            f"rounds each; gunicorn (shipped config) {args.workers} sync workers, access log "
            f"{args.access_log}; database {db_url.split('@')[-1]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10, help="length of a round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per server, taking turns")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--access-log", choices=("on", "off"), default="on",
                    help="gunicorn's access log (the shipped config: on), both servers")
    ap.add_argument("--pool", type=int, default=3000,
                    help="prepared requests per second of a round (more than a server answers)")
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a SQLAlchemy URL")
    ap.add_argument("--floor", choices=("on", "off"), default="on",
                    help="also run bench/floor_app.py: a join's database work without the app")
    args = ap.parse_args()

    from wx_member import migrate

    wrk.ensure()
    token, appid = secrets.token_hex(8), "wxbench000000001"
    run = secrets.token_hex(3)  # in every openid: new people, also in a reused database
    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-"))
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": token, "WX_APPID": appid, "WX_SECRET": "unused", "WX_ENCODING_AES_KEY": "",
           "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/",
           "WX_ACCESS_LOG": args.access_log}
    migrate.upgrade(db_url)
    seed(db_url)
    print(header(args, db_url), flush=True)

    servers: dict[str, Server] = {}
    names = ["bare", "join"] + (["floor"] if args.floor == "on" else [])
    runs: dict[str, list[wrk.Round]] = {name: [] for name in names}
    n = args.pool * args.seconds
    try:
        servers["bare"] = Server("bare_app:app", env, args.workers, tmp, "bare",
                                 ["--pythonpath", str(ROOT / "bench")])
        servers["join"] = Server("wx_member.app:create_app()", env, args.workers, tmp, "join")
        if args.floor == "on":
            servers["floor"] = Server("floor_app:app", env, args.workers, tmp, "floor",
                                      ["--pythonpath", str(ROOT / "bench")])
        for name, server in servers.items():  # warm-up: imports, connections, caches
            wrk.run(name, server.url, "/wechat",
                    prepared(tmp / f"{name}-w.req", server.url, token, appid, 3000,
                             f"{run}{name}w"), server, seconds=2, threads=args.threads,
                    connections=args.connections)
        for i in range(args.rounds):
            for name in (names if i % 2 == 0 else names[::-1]):
                server = servers[name]
                reqs = prepared(tmp / f"{name}{i}.req", server.url, token, appid, n,
                                f"{run}{name}{i}-")
                before = members(db_url)
                r = wrk.run(name, server.url, "/wechat", reqs, server, args.seconds,
                            args.threads, args.connections, local_database_pid(db_url))
                if name != "bare":  # a join, the app's or the floor's
                    time.sleep(0.5)  # requests wrk gave up on at the end may still commit
                    r.extra["joined"] = members(db_url) - before
                    if r.wrapped or not r.requests <= r.extra["joined"] <= r.requests + args.connections:
                        raise SystemExit(f"round {i}: wrk completed {r.requests} joins, the "
                                         f"database has {r.extra['joined']} new members "
                                         f"(wrapped {r.wrapped}): raise --pool")
                if any(r.errors.values()):
                    raise SystemExit(f"round {i} {name}: errors {r.errors}; logs in {tmp}")
                runs[name].append(r)
                print("  " + r.line(), flush=True)
    finally:
        for server in servers.values():
            server.stop()

    per_join, cpu_ms, wal_pages = statements_per_join(env, run)
    if not os.environ.get("WX_BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)  # the database (SQLite) and the servers' logs

    ratios = [j.rps / b.rps for b, j in zip(runs["bare"], runs["join"])]
    print("  " + "-" * 70)
    for name, rs in runs.items():
        print(f"  {name:<5} median {statistics.median(r.rps for r in rs):8.0f} req/s   "
              f"p50 {statistics.median(r.p50 for r in rs):6.1f} ms   "
              f"p99 {statistics.median(r.p99 for r in rs):6.1f} ms (worst {max(r.p99 for r in rs):.1f})"
              f"   server CPU {statistics.median(r.server_cpu / r.requests for r in rs) * 1000:.2f} ms/req"
              + (f"   database CPU {statistics.median(r.db_cpu / r.requests for r in rs) * 1000:.2f}"
                 " ms/req" if rs[0].db_cpu is not None else ""))
    bound = sum(r.client_bound for r in runs["bare"])
    print(f"  join/bare ratio: median {statistics.median(ratios):.0%} (by round: "
          + ", ".join(f"{x:.0%}" for x in ratios) + ") target >= 40% SQLite, 35% MariaDB"
          + (f"  [{bound} of {len(ratios)} bare rounds CLIENT-BOUND: ratio overstated]"
             if bound else "  [no bare round client-bound]"))
    if runs.get("floor"):
        floor = [f.rps / b.rps for b, f in zip(runs["bare"], runs["floor"])]
        share = [j.rps / f.rps for f, j in zip(runs["floor"], runs["join"])]
        print(f"  floor/bare ratio (the database work alone): median {statistics.median(floor):.0%}"
              f"   join/floor (the app's Python on top of it): median "
              f"{statistics.median(share):.0%} (by round: " + ", ".join(f"{x:.0%}" for x in share)
              + ")")
    cost = [b.server_cpu / b.requests / (j.server_cpu / j.requests)
            for b, j in zip(runs["bare"], runs["join"])]
    print(f"  CPU-cost ratio (bare CPU per request / join CPU per request, what the ratio tends "
          f"to when both servers are CPU-bound; steadier on a loaded machine): median "
          f"{statistics.median(cost):.0%} (by round: " + ", ".join(f"{x:.0%}" for x in cost) + ")")
    print(f"  statements per join: {per_join:.1f} (BEGIN and COMMIT aside)   "
          f"CPU per join, in-process and alone: {cpu_ms:.1f} ms"
          + (f"   WAL pages per join: {wal_pages:.1f}" if wal_pages is not None else ""))


if __name__ == "__main__":
    main()
