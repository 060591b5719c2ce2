"""Reach at scale: the forecast of a holiday greeting for many members, and the sync of a
programme tag they all carry to WeChat's user tags, against the sandbox.

    .venv/bin/python bench/reach.py [--members 1000000] [--database sqlite|URL]

Members are seeded with chunked executemany inserts: 10 % wrote an hour ago (the
customer-service window is open), 5 % hold a grant of the Official Account's subscribe
message, 2 % unfollowed, the rest dormant (mass send). The sandbox runs in its own process
(it is WeChat: not our CPU). Prints, for each step, rows/s, calls made to WeChat and this
process's peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from fanout import APPID, NOW, SECRET, start_sandbox  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.config import Config  # noqa: E402
from wx_member.extensions import build_runtime  # noqa: E402
from wx_member.models import Member, MemberTag, SubscribeGrant  # noqa: E402
from wx_member.pushes import planners, wechat_tags  # noqa: E402

BIZ = "TPL_HOLIDAY_BIZ"


def seed(rt, n: int, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    seen, long_ago = NOW - timedelta(hours=1), NOW - timedelta(days=200)
    with rt.engine.begin() as conn:
        for start in range(0, n, chunk):
            ids = range(start + 1, min(n, start + chunk) + 1)
            conn.execute(insert(Member), [
                {"id": i, "openid": f"oReach{i:08d}", "card_no": f"9{i:09d}", "tier": "normal",
                 "points_balance": i % 500, "subscribed": i % 50 != 0, "joined_at": long_ago,
                 "last_seen_at": seen if i % 10 == 0 else long_ago,
                 "window_at": seen if i % 10 == 0 else long_ago} for i in ids])
            conn.execute(insert(SubscribeGrant), [
                {"member_id": i, "template_id": BIZ, "remaining": 1, "updated_at": NOW}
                for i in ids if i % 20 == 1])
            conn.execute(insert(MemberTag), [
                {"member_id": i, "tag": "VIP", "created_at": NOW, "created_by": "bench"}
                for i in ids])
    return time.perf_counter() - started


def rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--database", default="sqlite")
    ap.add_argument("--skip-tags", action="store_true", help="the forecast only")
    ap.add_argument("--segments", action="store_true",
                    help="sync the RFM and campaign segments too (default: the one tag)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database if args.database != "sqlite" else f"sqlite:///{tmp.name}/reach.db"
    sandbox, api = start_sandbox()
    try:
        migrate.upgrade(url)
        rt = build_runtime(Config(appid=APPID, secret=SECRET, api_base=api, mp_base=api,
                                  database_url=url, template_ids={"holiday_bizsend": BIZ}))
        print(f"seeding {args.members:,} members ... ", end="", flush=True)
        print(f"{seed(rt, args.members):.1f} s", flush=True)

        started = time.perf_counter()
        with rt.sessions() as uow:
            f = planners.forecast(uow, rt.pushes, "holiday", rt.config, now=NOW)
        took = time.perf_counter() - started
        print(f"forecast of holiday: targeted {f.targeted:,}, {dict(f.by_channel)}, capped "
              f"{f.capped:,}, unreachable {f.unreachable_total:,} in {took:.1f} s: "
              f"{f.targeted / took:,.0f} rows/s, 0 calls, peak RSS {rss():,.0f} MB", flush=True)
        if args.skip_tags:
            return
        calls_before = sum(requests.get(api + "_sandbox/stats").json()["calls"].values())
        started = time.perf_counter()
        with rt.sessions() as uow:
            r = wechat_tags.sync(uow, rt.gateway, args.segments)
        took = time.perf_counter() - started
        calls = sum(requests.get(api + "_sandbox/stats").json()["calls"].values()) - calls_before
        print(f"tag sync: {r.tagged:,} members tagged in {took:.1f} s: {r.tagged / took:,.0f} "
              f"rows/s, {r.calls:,} calls ({calls:,} at the sandbox), peak RSS {rss():,.0f} MB",
              flush=True)
        started = time.perf_counter()
        with rt.sessions() as uow:
            again = wechat_tags.sync(uow, rt.gateway, args.segments)
        print(f"tag sync again: {again.tagged} tagged, {again.calls} calls in "
              f"{time.perf_counter() - started:.1f} s")
    finally:
        sandbox.terminate()
        sandbox.wait()
        tmp.cleanup()


if __name__ == "__main__":
    main()
