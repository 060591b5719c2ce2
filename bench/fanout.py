"""A holiday greeting to many members through the WeChat sandbox: plan, then send.

    .venv/bin/python bench/fanout.py [--members 1000000] [--database sqlite|URL]
                                     [--batch 500] [--workers 8]

The sandbox runs in its own process (it is WeChat: not our CPU), answering over HTTP with
keep-alive. Members are seeded with chunked executemany inserts (not the webhook: a million
joins would take longer than the fan-out being measured). The clock is frozen on
Mid-Autumn 2026 at 10:00 Shanghai; every member interacted an hour earlier, so the
customer-service channel's 48-hour window is open. Prints planning rows/s, sends/s and this
process's peak RSS (the planner and sender; the sandbox's is separate).
"""
from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from servers import cpu_seconds, free_port  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.config import Config  # noqa: E402
from wx_member.extensions import build_runtime  # noqa: E402
from wx_member.models import Delivery, Member  # noqa: E402
from wx_member.pushes import deliveries
from wx_member.pushes import planners

APPID, SECRET = "wxbench000000001", secrets.token_hex(8)
NOW = (datetime(2026, 9, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
       .astimezone(ZoneInfo("UTC")).replace(tzinfo=None))
SANDBOX = f"""
import threading
from wx_member.sandbox import Sandbox
sb = Sandbox(appid={APPID!r}, secret={SECRET!r}, port={{port}}, enforce_48h=False, max_sent=1000)
sb.start(); print("ready", flush=True); threading.Event().wait()
"""


def start_sandbox() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SANDBOX.format(port=port)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, f"http://127.0.0.1:{port}/"


def seed(rt, n: int, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    seen = NOW - timedelta(hours=1)
    with rt.engine.begin() as conn:
        for start in range(0, n, chunk):
            conn.execute(insert(Member), [
                {"openid": f"oFan{i:08d}", "card_no": f"9{i:09d}", "tier": "normal",
                 "points_balance": i % 500, "subscribed": True, "joined_at": seen,
                 "last_seen_at": seen, "window_at": seen} for i in range(start, min(n, start + chunk))])
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--database", default="sqlite")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database if args.database != "sqlite" else f"sqlite:///{tmp.name}/fanout.db"
    sandbox, api = start_sandbox()
    try:
        migrate.upgrade(url)
        rt = build_runtime(Config(appid=APPID, secret=SECRET, api_base=api, mp_base=api,
                                  database_url=url))
        print(f"seeding {args.members:,} members ... ", end="", flush=True)
        print(f"{seed(rt, args.members):.1f} s", flush=True)

        started = time.perf_counter()
        with rt.sessions() as s:
            result = planners.plan(s, rt.pushes, "holiday", rt.config, now=NOW)
        plan_s = time.perf_counter() - started
        print(f"planned {result.planned:,} ({result.occasions}) in {plan_s:.1f} s: "
              f"{result.planned / plan_s:,.0f} rows/s", flush=True)

        started, cpu = time.perf_counter(), time.process_time()
        sandbox_cpu = cpu_seconds(sandbox.pid)
        with rt.sessions() as s:
            stats = deliveries.send_due(s, rt.gateway, rt.config.tz, now=NOW, batch=args.batch,
                                        workers=args.workers)
        send_s = time.perf_counter() - started
        cpu = time.process_time() - cpu
        sandbox_cpu = cpu_seconds(sandbox.pid) - sandbox_cpu
        with rt.sessions() as s, s.read():
            counts = dict(s.execute(select(Delivery.status, func.count())
                                    .group_by(Delivery.status)).all())
        at_sandbox = requests.get(api + "_sandbox/stats").json()["sent"].get("custom", 0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"sent {stats.sent:,} in {send_s:.1f} s: {stats.sent / send_s:,.0f} sends/s "
              f"(batch {args.batch}, {args.workers} workers, {os.cpu_count()} CPUs)")
        print(f"CPU per send: sender {cpu / stats.sent * 1e3:.2f} ms, "
              f"sandbox {sandbox_cpu / stats.sent * 1e3:.2f} ms")
        print(f"statuses {counts}; the sandbox received {at_sandbox:,}")
        print(f"peak RSS of the planner+sender process: {rss:,.0f} MB")
    finally:
        sandbox.terminate()
        sandbox.wait()
        tmp.cleanup()


if __name__ == "__main__":
    main()
