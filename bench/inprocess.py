"""CPU per request of the join path and the mini-program's reads with the app in this
process (Flask's test client, no gunicorn, no HTTP): what the code itself costs, steadier
than a server bench on a shared machine, and comparable between two checkouts run one
after the other (each from its own root: `cd OTHER && python bench/inprocess.py`).

    .venv/bin/python bench/inprocess.py [--what bare,floor,join,card,points,coupons,checkout] [--batches 5]
        [--size 200] [--calls] [--database sqlite|URL]

For each request kind: the CPU per request (time.process_time) of `--batches` batches of
`--size` requests, least and median (the least is the figure to compare: a loaded machine
only ever adds); the SQL statements one request sends (BEGIN and COMMIT aside, counted by
a listener in a batch of its own); with `--calls`, the Python function calls one request
makes (cProfile: deterministic, so a change shows even when the machine is too busy for
timings; the test client's own calls included). Joins are new people subscribing through
the store channel `store_01` (bench/webhook.py's request); the reads use one member's
bearer token on bench/api.py's seeded members (2,000 here). `bare` and `floor` are the same
join requests to bench/bare_app.py (signature and parse only) and bench/floor_app.py (a
join's database work without the app's Python): join − floor is the app's own Python, floor
− bare the database's work and its driver. A fresh SQLite file by
default; a MariaDB URL must name a database the script may migrate and fill.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import api as api_bench  # noqa: E402
import webhook  # noqa: E402
from wx_member import migrate  # noqa: E402
from wx_member.sandbox import Simulator  # noqa: E402

READS = {name: api_bench.PATHS[name] for name in ("card", "points", "coupons", "checkout")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--what", default="bare,floor,join,card,points,coupons,checkout")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--calls", action="store_true", help="also count Python calls (cProfile)")
    ap.add_argument("--profile", help="cProfile this one kind and print its top functions")
    ap.add_argument("--database", default="sqlite")
    args = ap.parse_args()
    what = [w.strip() for w in args.what.split(",")]

    tmp = tempfile.mkdtemp(prefix="wxm-inprocess-")
    url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    migrate.upgrade(url)
    webhook.seed(url)
    member = None
    if set(what) & set(READS):
        api_bench.seed(url, 2000)  # (a MariaDB database must not hold them already)
        member = 1001
    token, key = secrets.token_hex(8), secrets.token_hex(32)
    os.environ.update({"WX_TOKEN": token, "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
                       "WX_ENCODING_AES_KEY": "", "DATABASE_URL": url,
                       "WX_MEMBER_SECRET_KEY": key, "WX_API_BASE": "http://127.0.0.1:9/"})
    logging.disable(logging.WARNING)
    from sqlalchemy import event

    from wx_member.app import create_app
    from wx_member.platform.access_tokens import issue_access

    app = create_app()
    engine = app.extensions["wx_member"].engine
    import bare_app
    import floor_app

    clients = {"join": app.test_client(), "bare": bare_app.app.test_client(),
               "floor": floor_app.app.test_client()}
    client = clients["join"]
    sim = Simulator("http://unused/wechat", token=token, appid="wxbench000000001")
    run = secrets.token_hex(3)
    bearer = {"Authorization": f"Bearer {issue_access(key, member, 3600).token}"} if member else {}

    def batch(kind: str, tag: str, n: int):
        """A function making `n` requests of `kind`, prepared beforehand."""
        if kind in clients:
            reqs = [sim.prepare_event("subscribe", f"oIn{run}{kind}{tag}{i:07d}",
                                      EventKey=f"qrscene_{webhook.SCENE}", Ticket="gQ")
                    for i in range(n)]
            post = clients[kind].post

            def go():
                for params, body in reqs:
                    res = post("/wechat", query_string=params, data=body, content_type="text/xml")
                    assert res.status_code == 200 and (kind == "bare" or b"CDATA[" in res.data), res.data
            return go

        def go():
            for _ in range(n):
                assert client.get(READS[kind], headers=bearer).status_code == 200
        return go

    gc.freeze()  # as the shipped gunicorn config does once a worker has loaded the app
    print(f"in-process, {args.database.split('@')[-1]}, {args.batches} x {args.size} requests, "
          f"load {os.getloadavg()[0]:.2f}")
    for kind in what:
        batch(kind, "w", 50)()  # warm-up: caches, the connection pool
        count = [0]

        def counted(_conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
                count[0] += 1
        event.listen(engine, "before_cursor_execute", counted)
        batch(kind, "s", 50)()
        event.remove(engine, "before_cursor_execute", counted)
        cpu = []
        for b in range(args.batches):
            go = batch(kind, f"t{b}-", args.size)
            started = time.process_time()
            go()
            cpu.append((time.process_time() - started) / args.size * 1000)
        line = (f"  {kind:<8} CPU {min(cpu):.3f} ms least, {statistics.median(cpu):.3f} median"
                + (f"   statements {count[0] / 50:.1f}" if kind not in ("bare", "floor") else
                   "   (not the app: its statements are not counted)"))
        if args.calls:
            go = batch(kind, "p", 500)
            profile = cProfile.Profile()
            profile.enable()
            go()
            profile.disable()
            line += f"   Python calls {pstats.Stats(profile).total_calls / 500:.0f}"
        print(line, flush=True)
        if args.profile == kind:
            go = batch(kind, "q", 500)
            profile = cProfile.Profile()
            profile.enable()
            go()
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    engine.dispose()


if __name__ == "__main__":
    main()
