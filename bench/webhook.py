"""Join-path throughput of the webhook vs. a bare endpoint, both under gunicorn, 2 workers.

    .venv/bin/python bench/webhook.py [--requests 3000] [--clients 16] [--database sqlite|URL]

Each request is a distinct subscribe-by-QR event from a new openid (a real join: member,
card, sign-up points, scan row, dedup key). The bare endpoint only checks the signature and
parses the XML. Both run on this machine in this run; the ratio is the figure that matters.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from wx_member.sandbox import Simulator  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(target: str, env: dict, workers: int, extra: list[str] = ()) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", *extra, target],
        env={**os.environ, **env}, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60  # a loaded machine boots workers slowly
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            requests.get(url + "healthz", timeout=2)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn {target} did not start")


def prepared(url: str, token: str, appid: str, n: int, tag: str) -> list[tuple[dict, bytes]]:
    """Signed requests built before the clock starts, so the client measures the server."""
    sim = Simulator(url + "wechat", token=token, appid=appid)
    return [sim.prepare_event("subscribe", f"oBench{tag}{i:07d}", EventKey="qrscene_store_01",
                              Ticket="gQbench")
            for i in range(n)]


def load(url: str, reqs: list[tuple[dict, bytes]], clients: int) -> dict:
    local = threading.local()  # one keep-alive connection per client thread

    def one(req):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        t0 = time.perf_counter()
        r = s.post(url + "wechat", params=req[0], data=req[1],
                   headers={"Content-Type": "text/xml"})
        took = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:200]}")
        return took

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, reqs))
    wall = time.perf_counter() - t0
    lat.sort()
    return {"rps": len(reqs) / wall, "p50": statistics.median(lat) * 1000,
            "p99": lat[int(len(lat) * 0.99) - 1] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database", default="sqlite", help="'sqlite' or a SQLAlchemy URL")
    args = ap.parse_args()

    token, appid = secrets.token_hex(8), "wxbench000000001"
    tmp = tempfile.mkdtemp(prefix="wxm-bench-")
    db_url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
    env = {"WX_TOKEN": token, "WX_APPID": appid, "WX_SECRET": "unused", "WX_ENCODING_AES_KEY": "",
           "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    subprocess.run([sys.executable, "-m", "wx_member.cli", "db", "upgrade"], check=True,
                   env={**os.environ, **env}, cwd=ROOT, capture_output=True)

    results = {}
    for name, target, extra in (
        ("bare", "bare_app:app", ["--pythonpath", str(ROOT / "bench")]),
        ("join", "wx_member.app:create_app()", []),
    ):
        proc, url = gunicorn(target, env, args.workers, extra)
        try:
            load(url, prepared(url, token, appid, 200, name + "w"), args.clients)  # warm-up
            results[name] = load(url, prepared(url, token, appid, args.requests, name), args.clients)
        finally:
            proc.terminate()
            proc.wait()

    print(f"webhook benchmark: {args.requests} requests, {args.clients} clients, "
          f"gunicorn {args.workers} sync workers, database {db_url.split('@')[-1]}")
    for name, r in results.items():
        print(f"  {name:<5} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms")
    ratio = results["join"]["rps"] / results["bare"]["rps"]
    print(f"  join/bare throughput ratio: {ratio:.0%} (target >= 40%)")


if __name__ == "__main__":
    main()
