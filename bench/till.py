"""Till purchases per second (POST /till/v1/orders) vs. a bare JSON endpoint, both under
gunicorn with the shipped config, 2 sync workers by default, in the same run.

    .venv/bin/python bench/till.py [--members 10000] [--requests 2000] [--clients 16]
                                   [--rounds 1] [--database sqlite|URL]

Each request records a distinct purchase (a new order number) of a random member
identified by card number: 2 lines (one 拿铁, one 甜点), paid half cash, half card; the
app checks the till key, identifies the member, prices the lines (tier discount, member
days, price list), locks the member, records the order, its lines and parts and the
request, credits the points and the spend and moves the tier when due, in one transaction.
The bare endpoint hashes the key, parses the JSON and answers an order-shaped JSON.
The two take turns over --rounds (the median is printed), so the machine's load hits both.
Afterwards it checks that every purchase was recorded once and counts the statements one
purchase sends to the database (the app in this process, one at a time).
"""
from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import secrets
import shutil
import statistics
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
from sqlalchemy import func, insert, select  # noqa: E402

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


def load(url: str, key: str, reqs: list[dict], clients: int,
         server: Server | None = None) -> dict:
    local = threading.local()  # one keep-alive connection per client thread
    headers = {"Authorization": f"Bearer {key}"}

    def one(body):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        t0 = time.perf_counter()
        r = s.post(url + "till/v1/orders", json=body, headers=headers)
        took = time.perf_counter() - t0
        if r.status_code != 200 or r.json().get("replayed"):
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:300]}")
        return took

    cpu0 = server.cpu_seconds() if server else 0.0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, reqs))
    wall = time.perf_counter() - t0
    cpu = server.cpu_seconds() - cpu0 if server else 0.0
    lat.sort()
    return {"rps": len(reqs) / wall, "p50": statistics.median(lat) * 1000,
            "p99": lat[int(len(lat) * 0.99) - 1] * 1000, "cpu": cpu / len(reqs) * 1000}


def orders(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Order))
    engine.dispose()
    return n


def statements_per_order(env: dict, key: str, members: int, n: int = 200) -> tuple[float, float]:
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

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            count["all"] += 1

    client = app.test_client()
    rng = random.Random(9)
    headers = {"Authorization": f"Bearer {key}"}

    def send(tag: str, k: int) -> None:
        for body in bodies(k, members, tag, rng):
            res = client.post("/till/v1/orders", json=body, headers=headers)
            assert res.status_code == 200, res.data

    send("stw", 50)  # warm-up
    count["all"] = 0
    cpu = time.process_time()
    send("st", n)
    cpu = time.process_time() - cpu
    engine.dispose()
    return count["all"] / n, cpu / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or an empty database's URL")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-till-"))
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": "unused", "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
           "WX_ENCODING_AES_KEY": "", "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/",
           "WX_MEMBER_SECRET_KEY": secrets.token_hex(32), "WX_LOG_FORMAT": "text"}
    migrate.upgrade(db_url)
    key = seed(db_url, args.members)
    rng, seq = random.Random(5), itertools.count()
    servers: dict[str, Server] = {}
    runs: dict[str, list[dict]] = {"bare": [], "till": []}
    try:
        servers["bare"] = Server("bare_app:app", env, args.workers, tmp, "bare",
                                 ["--pythonpath", str(ROOT / "bench")])
        servers["till"] = Server("wx_member.app:create_app()", env, args.workers, tmp, "till")
        for name, server in servers.items():  # warm-up
            load(server.url, key, bodies(200, args.members, f"w{name}", rng), args.clients)
        for i in range(args.rounds):
            for name in (("bare", "till") if i % 2 == 0 else ("till", "bare")):
                server = servers[name]
                runs[name].append(load(server.url, key, bodies(
                    args.requests, args.members, f"r{next(seq)}-", rng), args.clients, server))
    finally:
        for server in servers.values():
            server.stop()
    expected = 200 + args.rounds * args.requests
    if orders(db_url) != expected:
        raise SystemExit(f"expected {expected} orders, the database has {orders(db_url)}")
    per_order, cpu_ms = statements_per_order(env, key, args.members)
    if not os.environ.get("WX_BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)

    results = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for name, rs in runs.items()}
    print(f"till benchmark: {args.requests} purchases x {args.rounds} rounds, {args.clients} "
          f"clients, gunicorn {args.workers} sync workers, {args.members:,} members, "
          f"database {db_url.split('@')[-1].split('/')[0] if '@' in db_url else 'SQLite'}, "
          f"{os.cpu_count()} CPUs")
    for name, r in results.items():
        print(f"  {name:<5} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   "
              f"p99 {r['p99']:6.1f} ms   server CPU {r['cpu']:5.2f} ms/req")
    print(f"  till/bare throughput ratio: {results['till']['rps'] / results['bare']['rps']:.0%}")
    print(f"  statements per purchase: {per_order:.1f} (BEGIN/COMMIT aside); "
          f"CPU {cpu_ms:.2f} ms per purchase in-process")


if __name__ == "__main__":
    main()
