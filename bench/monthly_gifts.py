"""What the daily 每月礼券 job costs (coupons/bulk_issue.issue_monthly_gifts).

    .venv/bin/python bench/monthly_gifts.py [--members 100000] [--database sqlite|URL]

Seeds N members (70% 普通, 20% 银卡, 10% 金卡; chunked executemany, not the webhook) on a
fresh database built by the migrations, gives every tier a monthly template (the demo's
满50减10 / 银卡 满50减15 / 金卡 满50减20), then times
- the 1st of the month: every member is given their coupon;
- a later day of the month: nobody is due, every giving member is looked at again (what
  the job costs on each of the other days);
- the 1st again with only 金卡 giving (next month).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.coupons import bulk_issue  # noqa: E402
from wx_member.db import make_engine, make_session_factory  # noqa: E402
from wx_member.models import Member  # noqa: E402
from wx_member.platform import settings  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
JOINED = datetime(2026, 11, 1)


def seed(engine, n: int, chunk: int = 20_000) -> None:
    tiers = ["normal"] * 7 + ["silver"] * 2 + ["gold"]
    with engine.begin() as conn:
        for start in range(0, n, chunk):
            conn.execute(insert(Member), [
                {"openid": f"oGift{i:08d}", "card_no": f"8{i:09d}", "tier": tiers[i % 10],
                 "subscribed": True, "joined_at": JOINED}
                for i in range(start, min(n, start + chunk))])


def timed(uow, now: datetime) -> str:
    started = time.perf_counter()
    r = bulk_issue.issue_monthly_gifts(uow, TZ, now=now)
    return f"{time.perf_counter() - started:6.2f} s  issued {r.issued}, already {r.already}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--database", default="sqlite")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database if args.database != "sqlite" else f"sqlite:///{tmp.name}/gifts.db"
    migrate.upgrade(url)
    engine = make_engine(url)
    seed(engine, args.members)
    uow = make_session_factory(engine)()
    with uow.write():
        for tier, template in (("normal", 2), ("silver", 3), ("gold", 4)):
            settings.write(uow, f"tier_{tier}_monthly_coupon_template", template, "bench")
    print(f"{args.members} members on {engine.dialect.name}")
    print(f"1 Dec, every tier gives:   {timed(uow, datetime(2026, 11, 30, 16, 20))}")
    print(f"2 Dec, nobody due:         {timed(uow, datetime(2026, 12, 1, 16, 20))}")
    with uow.write():
        for tier in ("normal", "silver"):
            settings.write(uow, f"tier_{tier}_monthly_coupon_template", 0, "bench")
    print(f"1 Jan, only 金卡 gives:    {timed(uow, datetime(2026, 12, 31, 16, 20))}")
    print(f"2 Jan, nobody due:         {timed(uow, datetime(2027, 1, 1, 16, 20))}")
    uow.close()
    engine.dispose()


if __name__ == "__main__":
    main()
