"""Scale-out figures on MariaDB: webhook throughput with 1, 2 and 4 gunicorn workers (the
shipped gunicorn config), and the database round trips each kind of event costs.

    scripts/mariadb start
    .venv/bin/python bench/scale.py --database "$(scripts/mariadb url)" [--seconds 10]
    .venv/bin/python bench/scale.py --database sqlite     # a fresh SQLite file: its one writer

`--two-servers W` (default 1) adds a run of two gunicorn servers of W workers each on the
same database, each driven by its own wrk with half the connections, at the same time:
what a second host behind a load balancer adds (here both share the machine's cores).

Throughput: distinct subscribe-by-QR events (real joins: member, card, sign-up points, scan
row, dedup key), each request a new person, driven by wrk (bench/wrk.py: -t2 -c16, its CPU
share printed as in webhook.py), each run against the same database. Round trips:
the app in this process, every statement sent to the database counted by a SQLAlchemy
event listener, per request. The machine may be shared: read the ratios, not the absolutes.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from servers import Server  # noqa: E402
import wrk  # noqa: E402
from webhook import prepared  # noqa: E402

from wx_member import migrate  # noqa: E402
from wx_member.config import Config  # noqa: E402


def round_trips(config: Config) -> dict[str, tuple[int, int]]:
    """Statements and transaction ends per request, by request kind, in this process."""
    from sqlalchemy import event
    from wechatpy.pay.utils import calculate_signature, dict_to_xml

    from wx_member.app import create_app
    from wx_member.sandbox import Simulator

    logging.disable(logging.WARNING)  # the figures only, not the app's log lines
    app = create_app(config)
    engine = app.extensions["wx_member"].engine
    seen: Counter = Counter()
    event.listen(engine, "before_cursor_execute", lambda *a, **k: seen.update(["statement"]))
    event.listen(engine, "commit", lambda *a: seen.update(["end"]))
    event.listen(engine, "rollback", lambda *a: seen.update(["end"]))
    client = app.test_client()
    sim = Simulator("http://unused/wechat", token=config.token, appid=config.appid)
    openid = "oRoundTrip" + secrets.token_hex(9)

    def count(path: str, params: dict, body: bytes) -> tuple[int, int]:
        seen.clear()
        res = client.post(path, query_string=params, data=body, content_type="text/xml")
        assert res.status_code == 200, res.data
        return seen["statement"], seen["end"]

    join = sim.prepare_event("subscribe", openid, EventKey="qrscene_store_01", Ticket="gQ")
    fields = {"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": config.appid,
              "mch_id": config.mch_id, "nonce_str": secrets.token_hex(8), "openid": openid,
              "total_fee": "12300", "cash_fee": "12300", "out_trade_no": "RT" + secrets.token_hex(6),
              "transaction_id": "4200" + secrets.token_hex(10), "time_end": "20261125120000",
              "trade_type": "JSAPI", "bank_type": "CMC", "fee_type": "CNY"}
    pay = dict_to_xml(fields, calculate_signature(fields, config.pay_api_key)).encode()
    result = {
        "join (new member by QR)": count("/wechat", *join),
        "the same event again (WeChat's retry)": count("/wechat", *join),
        "check-in (menu click)": count("/wechat", *sim.prepare_event("CLICK", openid,
                                                                     EventKey="CHECKIN")),
        "payment notify (v2)": count("/pay/notify", {}, pay),
        "the same notify again": count("/pay/notify", {}, pay),
    }
    engine.dispose()
    return result


def two_servers(args, env: dict, token: str, appid: str, tmp: Path) -> list:
    """Two servers of `args.two_servers` workers on one database, loaded at once."""
    servers = [Server("wx_member.app:create_app()", env, args.two_servers, tmp, f"pair{i}")
               for i in range(2)]
    try:
        files = []
        for i, server in enumerate(servers):
            tag = f"p{i}{secrets.token_hex(2)}"
            warm = prepared(tmp / f"{tag}-warm.req", server.url, token, appid, 1500, tag + "w")
            wrk.run("warm", server.url, "/wechat", warm, server, seconds=2,
                    connections=args.connections // 2)
            files.append(prepared(tmp / f"{tag}.req", server.url, token, appid,
                                  args.pool * args.seconds // 2, tag))
        rounds: list = [None, None]

        def drive(i: int) -> None:
            rounds[i] = wrk.run(f"pair{i}", servers[i].url, "/wechat", files[i], servers[i],
                                args.seconds, connections=args.connections // 2)

        threads = [threading.Thread(target=drive, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in rounds:
            if r is None:
                raise SystemExit("the two-server run failed")
            if r.wrapped:
                raise SystemExit("the two-server run ran out of new people: raise --pool")
            print("  " + r.line(), flush=True)
        return rounds
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database", required=True,
                    help="a MariaDB/MySQL SQLAlchemy URL, or 'sqlite' for a fresh SQLite file")
    ap.add_argument("--seconds", type=int, default=10, help="length of a run")
    ap.add_argument("--pool", type=int, default=3000, help="prepared joins per second of a run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--two-servers", type=int, default=1, metavar="W",
                    help="workers per server in the two-server run (0: no such run)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wxm-bench-scale-"))
    if args.database == "sqlite":
        args.database = f"sqlite:///{tmp / 'scale.db'}"

    token, appid = secrets.token_hex(8), "wxbench000000001"
    env = {"WX_TOKEN": token, "WX_APPID": appid, "WX_SECRET": "unused", "WX_ENCODING_AES_KEY": "",
           "DATABASE_URL": args.database, "WX_API_BASE": "http://127.0.0.1:9/",
           "WXPAY_MCH_ID": "1900000109", "WXPAY_API_KEY": secrets.token_hex(16)}
    migrate.upgrade(args.database)

    runs = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        server = Server("wx_member.app:create_app()", env, workers, tmp, f"w{workers}")
        url = server.url
        try:
            tag = f"w{workers}{secrets.token_hex(2)}"
            warm = prepared(tmp / f"{tag}-warm.req", url, token, appid, 3000, tag + "warm")
            wrk.run("warm", url, "/wechat", warm, server, seconds=2,
                    connections=args.connections)
            reqs = prepared(tmp / f"{tag}.req", url, token, appid, args.pool * args.seconds, tag)
            runs[workers] = wrk.run(f"{workers}w", url, "/wechat", reqs, server, args.seconds,
                                    connections=args.connections)
            if runs[workers].wrapped:
                raise SystemExit(f"{workers} workers: wrk ran out of new people: raise --pool")
            print("  " + runs[workers].line(), flush=True)
        finally:
            server.stop()

    pair = two_servers(args, env, token, appid, tmp) if args.two_servers else None

    cores = os.cpu_count()
    print(f"scale benchmark: wrk {args.seconds} s per run, {args.connections} connections, "
          f"database {args.database.split('@')[-1]}, {cores} cores on this machine")
    base = runs[min(runs)].rps
    print(f"  {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  vs {min(runs)} worker")
    for workers, r in runs.items():
        print(f"  {workers:>7} {r.rps:8.0f} {r.p50:8.1f} {r.p99:8.1f}  {r.rps / base:6.2f}x")
    if pair:
        rps, p99 = sum(r.rps for r in pair), max(r.p99 for r in pair)
        print(f"  {'2 x ' + str(args.two_servers):>7} {rps:8.0f} {'':>8} {p99:8.1f}  "
              f"{rps / base:6.2f}x  (two servers of {args.two_servers} worker(s), "
              f"{' + '.join(f'{r.rps:.0f}' for r in pair)} req/s)")
    most = max(runs)
    print(f"  from {min(runs)} to {most} workers throughput grows {runs[most].rps / base:.2f}x; "
          f"it stops growing once the {cores} cores are busy (this load generator and the "
          "database run on them too), so size WEB_CONCURRENCY on the real hosts")

    config = Config.from_env(dotenv=False).with_(
        token=token, appid=appid, secret="unused", database_url=args.database,
        api_base="http://127.0.0.1:9/", mch_id=env["WXPAY_MCH_ID"],
        pay_api_key=env["WXPAY_API_KEY"])
    print("database round trips per request (statements + transaction end), in-process:")
    for name, (statements, ends) in round_trips(config).items():
        print(f"  {name:<40} {statements:>3} statements + {ends} commit/rollback")


if __name__ == "__main__":
    main()
