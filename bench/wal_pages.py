"""What a join's COMMIT writes on SQLite, page by page: each commit appends every page the
transaction changed to the WAL, whole (the page and a 24-byte header), so the pages a join
touches are what its commit costs. Joins go through the app in this process (Flask's test
client), new people subscribing through bench/webhook.py's store channel, on a fresh file.

    .venv/bin/python bench/wal_pages.py [--warm 300] [--joins 20]

After `--warm` joins (the tables grow past their first pages) the WAL is checkpointed and
emptied, automatic checkpoints are off for the count, `--joins` more joins are made, and
each page in the WAL is named by the table or index it belongs to (SQLite's dbstat). The
figure moves by a page or two with where the tables' pages happen to split: compare two
checkouts with the same arguments (`cd OTHER && python bench/wal_pages.py`).
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import sqlite3
import struct
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import webhook  # noqa: E402
from wx_member import migrate  # noqa: E402
from wx_member.sandbox import Simulator  # noqa: E402

HEADER, FRAME_HEADER = 32, 24  # the WAL's header; each frame's, before its page


def pages_written(path: Path, work) -> tuple[list[int], int]:
    """The pages `work()` appends to the emptied WAL of the SQLite file at `path` (their
    page numbers, in order; a page written by two commits counts twice) and the page size.
    The caller keeps SQLite's automatic checkpoint from restarting the log meanwhile
    (turned off, or fewer than its 1,000 pages written). bench/webhook.py uses it too."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    work()
    data = Path(f"{path}-wal").read_bytes()
    return [struct.unpack(">I", data[at:at + 4])[0]
            for at in range(HEADER, len(data) - FRAME_HEADER, FRAME_HEADER + page_size)], page_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm", type=int, default=300)
    ap.add_argument("--joins", type=int, default=20)
    args = ap.parse_args()

    path = Path(tempfile.mkdtemp(prefix="wxm-wal-")) / "bench.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    webhook.seed(url)
    token = secrets.token_hex(8)
    os.environ.update({"WX_TOKEN": token, "WX_APPID": "wxbench000000001", "WX_SECRET": "unused",
                       "WX_ENCODING_AES_KEY": "", "DATABASE_URL": url,
                       "WX_MEMBER_SECRET_KEY": secrets.token_hex(32),
                       "WX_API_BASE": "http://127.0.0.1:9/"})
    logging.disable(logging.WARNING)
    from sqlalchemy import event

    from wx_member.app import create_app

    app = create_app()
    engine = app.extensions["wx_member"].engine
    client = app.test_client()
    sim = Simulator("http://unused/wechat", token=token, appid="wxbench000000001")

    def join(tag: str, n: int) -> None:
        for i in range(n):
            params, body = sim.prepare_event("subscribe", f"oWal{tag}{i:07d}",
                                             EventKey=f"qrscene_{webhook.SCENE}", Ticket="gQ")
            res = client.post("/wechat", query_string=params, data=body, content_type="text/xml")
            assert res.status_code == 200 and b"CDATA[" in res.data, res.data

    join("w", args.warm)
    engine.dispose()  # new connections, each told not to checkpoint while we count
    event.listen(engine, "connect",
                 lambda conn, _: conn.execute("PRAGMA wal_autocheckpoint=0"))
    pages, page_size = pages_written(path, lambda: join("c", args.joins))
    with sqlite3.connect(path) as conn:
        names = dict((no, name) for name, no in conn.execute("SELECT name, pageno FROM dbstat"))
    by_tree = Counter(names.get(p, "(a page added since)") for p in pages)
    print(f"WAL pages per join: {len(pages) / args.joins:.1f}  ({args.joins} joins after "
          f"{args.warm}, {page_size}-byte pages)")
    for name, n in by_tree.most_common():
        print(f"  {n / args.joins:5.2f}  {name}")
    engine.dispose()


if __name__ == "__main__":
    main()
