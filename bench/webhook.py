"""Join-path throughput of the webhook vs. a bare endpoint, both under gunicorn with the
shipped config (wx_member/gunicorn_conf.py), 2 sync workers, in the same run.

    .venv/bin/python bench/webhook.py [--requests 3000] [--clients 16] [--rounds 1]
                                      [--database sqlite|URL]

Each request is a distinct subscribe-by-QR event from a new openid through the store
channel `store_01` (a real join: dedup key, member, card, scan row, sign-up points, sign-up
coupon, reply). The bare endpoint only checks the signature and parses the XML. Both
servers run at once and take turns (bare, join, join, bare, ... over `--rounds`), so a
change in the machine's load hits both; with several rounds the median is printed. The
ratio is the figure that matters. Afterwards the script checks that every join made a
member, and counts the statements one join sends to the database (the app in this
process, a SQLAlchemy event listener), with its CPU time when nothing else competes.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from servers import Server  # noqa: E402
from wx_member.sandbox import Simulator  # noqa: E402

SCENE = "store_01"


def prepared(url: str, token: str, appid: str, n: int, tag: str) -> list[tuple[dict, bytes]]:
    """Signed requests built before the clock starts, so the client measures the server."""
    sim = Simulator(url + "wechat", token=token, appid=appid)
    return [sim.prepare_event("subscribe", f"oBench{tag}{i:07d}", EventKey=f"qrscene_{SCENE}",
                              Ticket="gQbench")
            for i in range(n)]


def load(url: str, reqs: list[tuple[dict, bytes]], clients: int,
         server: Server | None = None) -> dict:
    local = threading.local()  # one keep-alive connection per client thread

    def one(req):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        t0 = time.perf_counter()
        r = s.post(url + "wechat", params=req[0], data=req[1],
                   headers={"Content-Type": "text/xml"})
        took = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:200]}")
        return took

    cpu0 = server.cpu_seconds() if server else 0.0
    client0 = time.process_time()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, reqs))
    wall = time.perf_counter() - t0
    client = time.process_time() - client0
    cpu = server.cpu_seconds() - cpu0 if server else 0.0
    lat.sort()
    return {"rps": len(reqs) / wall, "p50": statistics.median(lat) * 1000,
            "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
            "cpu": cpu / len(reqs) * 1000, "client": client / len(reqs) * 1000}


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


def statements_per_join(env: dict, run: str, n: int = 200) -> tuple[float, float]:
    """SQL statements one join sends to the database, BEGIN and COMMIT aside (how a
    transaction starts differs by backend and is not always a statement), and its CPU time
    in milliseconds, from `n` joins through the app in this process, one at a time."""
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
    cpu = time.process_time()
    join_all("c", n)
    cpu = time.process_time() - cpu
    engine.dispose()
    return count["all"] / n, cpu / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="alternating bare/join runs; median")
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a SQLAlchemy URL")
    args = ap.parse_args()

    from wx_member import migrate

    token, appid = secrets.token_hex(8), "wxbench000000001"
    run = secrets.token_hex(3)  # in every openid: new people, also in a reused database
    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-"))
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": token, "WX_APPID": appid, "WX_SECRET": "unused", "WX_ENCODING_AES_KEY": "",
           "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/", "WX_LOG_FORMAT": "text"}
    migrate.upgrade(db_url)
    seed(db_url)
    before = members(db_url)

    servers: dict[str, Server] = {}
    runs: dict[str, list[dict]] = {"bare": [], "join": []}
    try:
        servers["bare"] = Server("bare_app:app", env, args.workers, tmp, "bare",
                                 ["--pythonpath", str(ROOT / "bench")])
        servers["join"] = Server("wx_member.app:create_app()", env, args.workers, tmp, "join")
        for name, server in servers.items():  # warm-up: imports, connections, caches
            load(server.url, prepared(server.url, token, appid, 200, f"{run}{name}w"),
                 args.clients)
        for i in range(args.rounds):
            for name in (("bare", "join") if i % 2 == 0 else ("join", "bare")):
                server = servers[name]
                runs[name].append(load(server.url, prepared(server.url, token, appid,
                                                            args.requests, f"{run}{name}{i}-"),
                                       args.clients, server))
    finally:
        for server in servers.values():
            server.stop()

    joined = members(db_url) - before
    expected = 200 + args.rounds * args.requests  # warm-up and runs; the bare app writes nothing
    if joined != expected:
        raise SystemExit(f"expected {expected} new members, the database has {joined} more")
    per_join, cpu_ms = statements_per_join(env, run)
    if not os.environ.get("WX_BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)  # the database (SQLite) and the servers' logs

    results = {name: {k: statistics.median(r[k] for r in rs)
                      for k in ("rps", "p50", "p99", "cpu", "client")}
               for name, rs in runs.items()}
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"webhook benchmark: {args.requests} requests, {args.clients} clients, "
          f"gunicorn {args.workers} sync workers, database {db_url.split('@')[-1]}{rounds}")
    for name, r in results.items():
        print(f"  {name:<5} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms")
    ratio = results["join"]["rps"] / results["bare"]["rps"]
    print(f"  join/bare throughput ratio: {ratio:.0%} (target >= 40%)")
    if args.rounds > 1:
        print("  ratio by round: " + ", ".join(
            f"{j['rps'] / b['rps']:.0%}" for b, j in zip(runs["bare"], runs["join"])))
    print("  CPU per request (ms): " + ", ".join(
        f"{name} server {r['cpu']:.1f}" for name, r in results.items())
        + f"; this client {statistics.median(r['client'] for rs in runs.values() for r in rs):.1f}")
    print(f"  statements per join: {per_join:.1f} (BEGIN and COMMIT aside)   "
          f"CPU per join, in-process and alone: "
          f"{cpu_ms:.1f} ms")


if __name__ == "__main__":
    main()
