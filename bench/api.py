"""The mini-program's reads vs. a bare endpoint, both under gunicorn with the shipped config
(2 sync workers), driven by wrk (-t2 -c16) in rounds taking turns, against a database of
--members members (100,000 by default).

    .venv/bin/python bench/api.py [--members 100000] [--seconds 10] [--rounds 3]
        [--endpoints card,points,coupons,checkout] [--access-log on|off] [--database sqlite|URL]

Each request is a GET with one member's bearer token (the mini-program of one person
opening its pages): token check, the member row, the tier ladder from settings, the soonest
expiring points from the ledger (every member has two ledger rows, one with an expiry),
JSON. Every member holds four coupons, two of them usable on the quote (the coupon list
reads them). `checkout` is 到店买单's quote of 38.50 yuan at a store (the member's tier
discount, member days, usable coupons, the most points usable, points to earn). The bare
endpoint (bench/bare_app.py) checks the same token and answers a card-shaped JSON without
the database. Rounds take turns (bare, card, points, coupons,
then the reverse order, ...) and every round prints wrk's CPU share (CLIENT-BOUND when wrk
used a third or more of the CPU it and the server used), the server's CPU per request, how
busy the machine was and its load; the ratio to bare is the figure that matters.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from sqlalchemy import insert, text  # noqa: E402

import wrk  # noqa: E402
from servers import Server  # noqa: E402
from wx_member import migrate  # noqa: E402
from wx_member.db import make_engine  # noqa: E402
from wx_member.clock import utcnow  # noqa: E402
from wx_member.models import Coupon, CouponTemplate, Member, PointsLedger, Store  # noqa: E402
from wx_member.platform.access_tokens import issue_access  # noqa: E402
from wx_member.members.membership import card_number  # noqa: E402

PATHS = {"card": "/api/me/card", "points": "/api/me/points", "coupons": "/api/me/coupons",
         # 到店买单's quote, asked again as the member types an amount (pages/pay)
         "checkout": "/api/stores/S01/checkout?amount_fen=3850"}


def seed(url: str, n: int, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    now = utcnow()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Store), [{"code": "S01", "name": "静安店", "status": "open",
                                      "created_at": now}])
        # A wallet like a member's a few months in: two coupons usable on the quote's
        # 38.50 yuan (满30减5, 9折 capped at 10 yuan) and two used ones.
        base = {"min_spend_fen": 0, "amount_off_fen": None, "percent_off": None,
                "cap_fen": None, "valid_days": 30, "active": True, "created_at": now}
        templates = [conn.execute(insert(CouponTemplate).values({**base, **t}))
                     .inserted_primary_key[0] for t in (
                         {"name": "满30减5", "kind": "amount_off", "min_spend_fen": 3000,
                          "amount_off_fen": 500},
                         {"name": "9折券", "kind": "percent_off", "percent_off": 10,
                          "cap_fen": 1000})]
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
            conn.execute(insert(Coupon), [
                {"code": f"B{i:08d}{k}", "template_id": templates[k % 2], "member_id": i,
                 "cause": f"bench:{i}:{k}", "status": "used" if k >= 2 else "available",
                 "issued_at": now - timedelta(days=10), "valid_from": now - timedelta(days=10),
                 "valid_until": now + timedelta(days=20 + k)}
                for i in ids for k in range(4)])
    engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=10, help="length of a round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per endpoint, taking turns")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--endpoints", default="card,points,coupons,checkout",
                    help="the app's endpoints measured: " + ", ".join(PATHS))
    ap.add_argument("--access-log", choices=("on", "off"), default="on",
                    help="gunicorn's access log (the shipped config: on), both servers")
    ap.add_argument("--database", default="sqlite", help="'sqlite' or a SQLAlchemy URL")
    args = ap.parse_args()
    endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if not set(endpoints) <= set(PATHS):
        raise SystemExit(f"--endpoints: choose among {', '.join(PATHS)}")

    wrk.ensure()
    key = secrets.token_hex(32)
    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-api-"))
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": "unused", "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
           "WX_ENCODING_AES_KEY": "", "DATABASE_URL": db_url, "WX_MEMBER_SECRET_KEY": key,
           "WX_API_BASE": "http://127.0.0.1:9/", "WX_ACCESS_LOG": args.access_log}
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
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"mini-program read benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"commit {wrk.commit()}, {os.cpu_count()} cores, load {load}\n"
          f"  wrk -t{args.threads} -c{args.connections} -d{args.seconds}s x {args.rounds} rounds"
          f" each; gunicorn (shipped config) {args.workers} sync workers, access log "
          f"{args.access_log}; {args.members:,} members; database {db_url.split('@')[-1]}",
          flush=True)

    member = args.members // 2 + 1  # one member, the same token for every request
    token = issue_access(key, member, 24 * 3600).token
    servers: dict[str, Server] = {}
    runs: dict[str, list[wrk.Round]] = {name: [] for name in ["bare", *endpoints]}
    try:
        servers["bare"] = Server("bare_app:app", env, args.workers, tmp, "bare",
                                 ["--pythonpath", str(ROOT / "bench")])
        servers["app"] = Server("wx_member.app:create_app()", env, args.workers, tmp, "app")
        files = {}
        for name in runs:
            server = servers["bare" if name == "bare" else "app"]
            path = PATHS["card" if name == "bare" else name]
            req = wrk.raw_request(server.url, "GET", path,
                                  headers={"Authorization": f"Bearer {token}"})
            files[name] = wrk.write_requests(tmp / f"{name}.req", [req])
            wrk.run(name, server.url, path, files[name], server, 2, args.threads,
                    args.connections)  # warm-up
        order = list(runs)
        for i in range(args.rounds):
            for name in (order if i % 2 == 0 else order[::-1]):
                server = servers["bare" if name == "bare" else "app"]
                r = wrk.run(name, server.url, PATHS["card" if name == "bare" else name],
                            files[name], server, args.seconds, args.threads, args.connections)
                if any(r.errors.values()):
                    raise SystemExit(f"round {i} {name}: errors {r.errors}; logs in {tmp}")
                r.wrapped = 0  # one request, repeated on purpose
                runs[name].append(r)
                print("  " + r.line(), flush=True)
    finally:
        for server in servers.values():
            server.stop()
    if not os.environ.get("WX_BENCH_KEEP"):  # kept when a round failed: its logs are there
        shutil.rmtree(tmp, ignore_errors=True)  # the database (SQLite) and the servers' logs

    print("  " + "-" * 70)
    for name, rs in runs.items():
        print(f"  {name:<8} median {statistics.median(r.rps for r in rs):8.0f} req/s   "
              f"p50 {statistics.median(r.p50 for r in rs):6.1f} ms   "
              f"p99 {statistics.median(r.p99 for r in rs):6.1f} ms (worst {max(r.p99 for r in rs):.1f})"
              f"   server CPU {statistics.median(r.server_cpu / r.requests for r in rs) * 1000:.2f} ms/req")
    bound = sum(r.client_bound for r in runs["bare"])
    for name in endpoints:
        ratios = [e.rps / b.rps for b, e in zip(runs["bare"], runs[name])]
        cost = [b.server_cpu / b.requests / (e.server_cpu / e.requests)
                for b, e in zip(runs["bare"], runs[name])]
        print(f"  {name}/bare ratio: median {statistics.median(ratios):.0%} (by round: "
              + ", ".join(f"{x:.0%}" for x in ratios) + ") target >= 40%, p99 < 50 ms;"
              f" CPU-cost ratio median {statistics.median(cost):.0%}")
    print(f"  [{bound} of {len(runs['bare'])} bare rounds CLIENT-BOUND: ratios overstated]"
          if bound else "  [no bare round client-bound]")


if __name__ == "__main__":
    main()
