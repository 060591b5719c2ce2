"""Till purchases per second (POST /till/v1/orders) vs. a bare JSON endpoint, both under
gunicorn with the shipped config, 2 sync workers, driven by wrk in the same run.

    .venv/bin/python bench/till.py [--seconds 10] [--rounds 2] [--connections 4,16]
        [--workers 2] [--members 10000] [--database sqlite|URL] [--profile] [--in-process]

    .venv/bin/python bench/till.py --database "$(scripts/mariadb url)"

Each request records a distinct purchase (a new order number) of a random member
identified by card number: 2 lines (one 拿铁, one 甜点), paid half cash, half card; the
app checks the till key, identifies the member, prices the lines (tier discount, member
days, price list), locks the member, records the order, its lines and parts and the
request, credits the points and the spend and moves the tier when due, in one transaction.
The requests are built before the clock starts (raw HTTP, bench/rotate.lua hands wrk the
next one). The bare endpoint (bench/bare_app.py) hashes the key, parses the JSON and
answers an order-shaped JSON. The two take turns (bare, till, till, bare, ...) at each
concurrency, so the machine's load hits both. After each till round the script checks that
every purchase wrk completed was recorded once (the orders table grew by that many).

wrk's `-c` is a closed loop: that many tills each sending their next purchase as soon as
the last is answered, with no pause. A chain's tills send far less: a till records a
purchase every 30 s or more at a rush, so a hundred tills sending at once is rare; 4
connections (4 purchases in flight at every instant, against 2 workers) is the p99 goal's
load, 16 the saturation figure.

At the end, through the app in this process, one purchase at a time: the statements one
purchase sends (a SQLAlchemy event listener; BEGIN/COMMIT aside) and its CPU time
(time.process_time, without the listener), steadier than wrk on a loaded machine;
`--profile` also prints cProfile's top functions of those purchases.

A `--database` URL names a server: the script makes its own database there
(`wxm_bench_till_<random>`, dropped afterwards unless WX_BENCH_KEEP is set), so it never
touches the database of the URL.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
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
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import wrk  # noqa: E402
from servers import Server  # noqa: E402
from wx_member import migrate  # noqa: E402
from wx_member.clock import utcnow  # noqa: E402
from wx_member.db import make_engine, make_session_factory  # noqa: E402
from wx_member.members.membership import card_number  # noqa: E402
from wx_member.models import Member, Order  # noqa: E402

LINES = [{"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
          "unit_price_fen": 3000},
         {"sku": "CAKE-1", "name": "芝士蛋糕", "category": "甜点", "quantity": 1,
          "unit_price_fen": 2850}]


def seed(url: str, n: int) -> str:
    """`n` members and a store with a till key. Tier discounts are set to none and the
    member days disabled, so the client knows the payable total of every purchase as members
    move up tiers (the pricing still runs: the reads are the same)."""
    from wx_member.members import stores
    from wx_member.models import MemberDay
    from wx_member.payments import benefits, till_keys

    engine = make_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Member), [
            {"id": i, "openid": f"oTill{i:08d}", "card_no": card_number(i), "tier": "normal",
             "points_balance": 0, "total_spend_fen": 0, "subscribed": True, "joined_at": now}
            for i in range(1, n + 1)])
    with make_session_factory(engine)() as uow:
        stores.create(uow, "BENCH1", "压测门店", by="bench")
        key = till_keys.issue(uow, "BENCH1", "bench", by="bench").key
        for tier in ("silver", "gold", "diamond"):
            benefits.set_tier_discount(uow, tier, 100, [], by="bench")
        with uow.read() as session:
            days = list(session.scalars(select(MemberDay.id)))
        for day in days:
            benefits.disable_member_day(uow, day, by="bench")
    engine.dispose()
    return key


def bodies(n: int, members: int, tag: str, rng: random.Random) -> list[dict]:
    payable = sum(line["quantity"] * line["unit_price_fen"] for line in LINES)
    return [{"member": {"card_no": card_number(rng.randint(1, members))},
             "order_no": f"{tag}{i:07d}", "lines": LINES,
             "payments": [{"method": "cash", "amount_fen": payable // 2},
                          {"method": "card", "amount_fen": payable - payable // 2}]}
            for i in range(n)]


def prepared(path: Path, url: str, key: str, reqs: list[dict]) -> Path:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return wrk.write_requests(path, [
        wrk.raw_request(url, "POST", "/till/v1/orders", None, headers,
                        json.dumps(body, ensure_ascii=False).encode()) for body in reqs])


def orders(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Order))
    engine.dispose()
    return n


def own_database(url: str) -> tuple[str, callable]:
    """A fresh database on the server of `url` (MariaDB), and how to drop it."""
    name = f"wxm_bench_till_{secrets.token_hex(3)}"
    server = make_engine(make_url(url).set(database="").render_as_string(hide_password=False))
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci"))

    def drop() -> None:
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def in_process(env: dict, key: str, members: int, n: int = 200,
               profile: bool = False) -> tuple[float, float]:
    """Statements one purchase sends (BEGIN, COMMIT, PRAGMA aside) and its CPU time (ms),
    from `n` purchases through the app in this process, one at a time."""
    from sqlalchemy import event

    from wx_member.app import create_app
    from wx_member.config import Config

    os.environ.update(env)
    logging.disable(logging.WARNING)
    app = create_app(Config.from_env())
    engine = app.extensions["wx_member"].engine
    count = {"all": 0}

    def _count(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            count["all"] += 1

    client = app.test_client()
    rng = random.Random(9)
    headers = {"Authorization": f"Bearer {key}"}

    def send(tag: str, k: int) -> None:
        for body in bodies(k, members, tag, rng):
            res = client.post("/till/v1/orders", json=body, headers=headers)
            assert res.status_code == 200 and not res.json["replayed"], res.data

    send("ipw", 50)  # warm-up: statement caches, the pool
    event.listen(engine, "before_cursor_execute", _count)
    send("ipc", n)
    event.remove(engine, "before_cursor_execute", _count)
    # Timed without the listener: with one, wx_member.statements takes SQLAlchemy's
    # ordinary path so that the count sees every statement.
    cpu = time.process_time()
    send("ipt", n)
    cpu = time.process_time() - cpu
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(send, "ipp", n)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    engine.dispose()
    return count["all"] / n, cpu / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10, help="length of a round")
    ap.add_argument("--rounds", type=int, default=2, help="rounds per server and concurrency")
    ap.add_argument("--connections", default="4,16", help="wrk -c, comma-separated")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--pool", type=int, default=1500,
                    help="prepared requests per second of a round (more than a server answers)")
    ap.add_argument("--database", default="sqlite",
                    help="'sqlite' (a fresh file) or a MariaDB URL (a fresh database is made there)")
    ap.add_argument("--profile", action="store_true", help="cProfile the in-process purchases")
    ap.add_argument("--in-process", action="store_true",
                    help="only the in-process figures (statements, CPU; no servers, no wrk)")
    args = ap.parse_args()
    conns = [int(c) for c in args.connections.split(",")]

    if not args.in_process:
        wrk.ensure()
    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-till-"))
    drop = None
    if args.database == "sqlite":
        db_url = f"sqlite:///{tmp}/bench.db"
    else:
        db_url, drop = own_database(args.database)
    env = {"WX_TOKEN": "unused", "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
           "WX_ENCODING_AES_KEY": "", "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/",
           "WX_MEMBER_SECRET_KEY": secrets.token_hex(32), "WX_LOG_FORMAT": "text"}
    rng, run = random.Random(5), secrets.token_hex(2)
    servers: dict[str, Server] = {}
    runs: dict[tuple[str, int], list[wrk.Round]] = {}
    try:
        migrate.upgrade(db_url)
        key = seed(db_url, args.members)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"till benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
              f"{wrk.commit()}, {os.cpu_count()} cores, load {load}\n"
              f"  wrk -t{args.threads} -c{args.connections} -d{args.seconds}s x {args.rounds} "
              f"rounds each; gunicorn (shipped config) {args.workers} sync workers; "
              f"{args.members:,} members; database "
              f"{'SQLite' if db_url.startswith('sqlite') else 'MariaDB ' + make_url(db_url).host}",
              flush=True)
        if args.in_process:
            conns = []
        else:
            servers["bare"] = Server("bare_app:app", env, args.workers, tmp, "bare",
                                     ["--pythonpath", str(ROOT / "bench")])
            servers["till"] = Server("wx_member.app:create_app()", env, args.workers, tmp,
                                     "till")
        for name, server in servers.items():  # warm-up: imports, connections, caches
            reqs = prepared(tmp / f"{name}-w.req", server.url, key,
                            bodies(1000, args.members, f"w{run}{name}", rng))
            wrk.run(name, server.url, "/till/v1/orders", reqs, server, seconds=2,
                    threads=args.threads, connections=max(conns))
        for c in conns:
            for i in range(args.rounds):
                for name in (("bare", "till") if i % 2 == 0 else ("till", "bare")):
                    server = servers[name]
                    reqs = prepared(tmp / f"{name}{c}-{i}.req", server.url, key, bodies(
                        args.pool * args.seconds, args.members, f"r{run}{name}{c}-{i}-", rng))
                    before = orders(db_url)
                    r = wrk.run(name, server.url, "/till/v1/orders", reqs, server,
                                args.seconds, args.threads, c)
                    # the bare endpoint writes nothing: sending a request again is harmless
                    if any(r.errors.values()) or (r.wrapped and name == "till"):
                        raise SystemExit(f"{name} -c{c} round {i}: errors {r.errors}, wrapped "
                                         f"{r.wrapped} (raise --pool); logs in {tmp}")
                    if name == "till":
                        time.sleep(0.5)  # requests wrk gave up on at the end may still commit
                        made = orders(db_url) - before
                        if not r.requests <= made <= r.requests + c:
                            raise SystemExit(f"-c{c} round {i}: wrk completed {r.requests} "
                                             f"purchases, the database has {made} new orders")
                    runs.setdefault((name, c), []).append(r)
                    print(f"  -c{c:<3} " + r.line(), flush=True)
        for server in servers.values():
            server.stop()
        per_order, cpu_ms = in_process(env, key, args.members, profile=args.profile)
    finally:
        for server in servers.values():
            server.stop()
        if not os.environ.get("WX_BENCH_KEEP"):
            if drop:
                drop()
            shutil.rmtree(tmp, ignore_errors=True)

    if conns:
        print("  " + "-" * 70)
    for c in conns:
        for name in ("bare", "till"):
            rs = runs[(name, c)]
            print(f"  -c{c:<3} {name:<5} median {statistics.median(r.rps for r in rs):7.0f} "
                  f"req/s  p50 {statistics.median(r.p50 for r in rs):6.1f} ms  p99 "
                  f"{statistics.median(r.p99 for r in rs):6.1f} ms (worst "
                  f"{max(r.p99 for r in rs):.1f})  server CPU "
                  f"{statistics.median(r.server_cpu / r.requests for r in rs) * 1000:5.2f} "
                  f"ms/req  wrk {statistics.median(r.client_share for r in rs):.0%} of wrk+server CPU")
        ratio = statistics.median(t.rps / b.rps for b, t in zip(runs[("bare", c)],
                                                                 runs[("till", c)]))
        print(f"  -c{c:<3} till/bare throughput: {ratio:.0%}")
    print(f"  statements per purchase: {per_order:.1f} (BEGIN/COMMIT aside); CPU per purchase, "
          f"in-process and alone: {cpu_ms:.2f} ms")


if __name__ == "__main__":
    main()
