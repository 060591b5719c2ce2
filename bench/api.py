"""My-card throughput of the mini-program API vs. a bare endpoint, both under gunicorn
(2 sync workers), against a database of --members members (100,000 by default).

    .venv/bin/python bench/api.py [--members 100000] [--requests 4000] [--clients 16]
                                  [--database sqlite|URL]

Each request is GET /api/me/card with a valid token of a random member: token check, the
member row, the tier ladder from settings, the soonest expiring points from the ledger
(every member has two ledger rows, one with an expiry), JSON. The bare endpoint checks the
same token and answers a card-shaped JSON without the database. Both run on this machine
in this run; the ratio is the figure that matters.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from sqlalchemy import insert, text  # noqa: E402

from servers import Server  # noqa: E402
from wx_member import migrate  # noqa: E402
from wx_member.db import make_engine  # noqa: E402
from wx_member.clock import utcnow
from wx_member.models import Member, PointsLedger  # noqa: E402
from wx_member.platform.access_tokens import issue_access  # noqa: E402
from wx_member.members.membership import card_number  # noqa: E402


def seed(url: str, n: int, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    now = utcnow()
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(1, n + 1, chunk):
            ids = range(start, min(n + 1, start + chunk))
            conn.execute(insert(Member), [
                {"id": i, "openid": f"oApi{i:08d}", "mini_openid": f"oMini{i:08d}",
                 "card_no": card_number(i), "tier": "normal", "points_balance": 10 + i % 50,
                 "total_spend_fen": (i * 37) % 30000, "subscribed": True, "joined_at": now}
                for i in ids])
            conn.execute(insert(PointsLedger), [
                {"member_id": i, "delta": d, "reason": r, "idem_key": f"{r}:{i}",
                 "expires_at": e, "created_at": now}
                for i in ids
                for d, r, e in ((10, "signup", None),
                                (i % 50 or 1, "checkin", now + timedelta(days=30 + i % 300)))])
    engine.dispose()
    return time.perf_counter() - started


def load(url: str, tokens: list[str], clients: int) -> dict:
    local = threading.local()  # one keep-alive connection per client thread

    def one(token):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        t0 = time.perf_counter()
        r = s.get(url + "api/me/card", headers={"Authorization": f"Bearer {token}"})
        took = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:200]}")
        return took

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, tokens))
    wall = time.perf_counter() - t0
    lat.sort()
    return {"rps": len(tokens) / wall, "p50": statistics.median(lat) * 1000,
            "p99": lat[int(len(lat) * 0.99) - 1] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database", default="sqlite", help="'sqlite' or a SQLAlchemy URL")
    args = ap.parse_args()

    key = secrets.token_hex(32)
    tmp = tempfile.mkdtemp(prefix="wxm-bench-api-")
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": "unused", "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
           "WX_ENCODING_AES_KEY": "", "DATABASE_URL": db_url, "WX_MEMBER_SECRET_KEY": key,
           "WX_API_BASE": "http://127.0.0.1:9/"}
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        present = conn.execute(text("SELECT COUNT(*) FROM member")).scalar()
    engine.dispose()
    if present:
        raise SystemExit(f"the database already has {present} members: give an empty one")
    print(f"seeding {args.members:,} members and {2 * args.members:,} ledger rows ... ",
          end="", flush=True)
    print(f"{seed(db_url, args.members):.1f} s", flush=True)

    rng = random.Random(5)
    def tokens(n):  # signed before the clock starts, so the client measures the server
        return [issue_access(key, rng.randint(1, args.members), 3600).token for _ in range(n)]

    results = {}
    for name, target, extra in (
        ("bare", "bare_app:app", ["--pythonpath", str(ROOT / "bench")]),
        ("card", "wx_member.app:create_app()", []),
    ):
        server = Server(target, env, args.workers, Path(tmp), name, extra)
        try:
            load(server.url, tokens(300), args.clients)  # warm-up
            results[name] = load(server.url, tokens(args.requests), args.clients)
        finally:
            server.stop()

    print(f"my-card benchmark: {args.requests} requests, {args.clients} clients, gunicorn "
          f"{args.workers} sync workers, {args.members:,} members, "
          f"database {db_url.split('@')[-1]}, {os.cpu_count()} CPUs")
    for name, r in results.items():
        print(f"  {name:<5} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms")
    print(f"  card/bare throughput ratio: {results['card']['rps'] / results['bare']['rps']:.0%}")


if __name__ == "__main__":
    main()
