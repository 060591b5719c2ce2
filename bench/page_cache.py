"""What two gunicorn workers cost SQLite beyond one: each connection keeps its own page
cache, and a transaction that finds the WAL changed by another connection since its last
one drops that cache whole and reads its pages again. Two sync workers take turns at the
write lock, so under load every join starts with an empty cache.

In this process, bench/floor_app.py's join (the same statements as the app's join, on the
DBAPI connection) on a fresh migrated and seeded file: batches of joins on one connection,
and on two connections taking turns (what two workers do), alternating, with SQLite's
automatic checkpoint on (as shipped) or off (`--no-checkpoint`: the WAL only grows, so
what a checkpoint adds shows apart). Prints the CPU per join of each, least and median.

    .venv/bin/python bench/page_cache.py [--batches 6] [--size 300] [--no-checkpoint]
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--no-checkpoint", action="store_true")
    args = ap.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp(prefix='wxm-page-cache-')}/bench.db"
    os.environ.update({"DATABASE_URL": url, "WX_TOKEN": "unused", "WX_APPID": "wxbench0001"})
    from wx_member import migrate
    import webhook

    migrate.upgrade(url)
    webhook.seed(url)
    import floor_app  # reads DATABASE_URL when imported

    conns = [floor_app._connect() for _ in range(2)]
    if args.no_checkpoint:
        for conn in conns:
            conn.execute("PRAGMA wal_autocheckpoint=0")
    run = secrets.token_hex(3)

    def joins(n: int, turns: bool, tag: str) -> float:
        started = time.process_time()
        for i in range(n):
            floor_app._conn = conns[i % 2] if turns else conns[0]
            openid = f"o{run}{tag}{i:07d}"
            floor_app._write(floor_app._conn.cursor(), openid, f"evt:{openid}", webhook.SCENE)
        return (time.process_time() - started) / n * 1000

    joins(args.size, True, "warm")
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for b in range(args.batches):
        for turns in (False, True):
            cpu[turns].append(joins(args.size, turns, f"{b}{int(turns)}"))
    print(f"page cache, floor joins in one process, {args.batches} x {args.size}, checkpoint "
          f"{'off' if args.no_checkpoint else 'on'}, load {os.getloadavg()[0]:.2f}")
    for turns in (False, True):
        print(f"  {'two connections taking turns' if turns else 'one connection':<30}"
              f"CPU {min(cpu[turns]):.3f} ms least, {statistics.median(cpu[turns]):.3f} median")
    print(f"  taking turns costs {min(cpu[True]) / min(cpu[False]):.2f}x (least against least)")


if __name__ == "__main__":
    main()
