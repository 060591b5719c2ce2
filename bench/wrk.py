"""wrk as the benchmarks' load generator: a C client whose CPU is measured, so a ratio
against a bare endpoint is the servers' and not the client's.

`ensure()` installs Debian's `wrk` when it is missing (apt-get, with sudo when not root),
as scripts/test installs chromium. `write_requests` stores prepared raw HTTP requests for
bench/rotate.lua, which hands each connection the next one: every request can be a new
person with its own signature, computed before the clock starts. `run` drives one round
and returns wrk's figures with the CPU time wrk used (its rusage), the servers' CPU (from
/proc) and what the whole machine did meanwhile, so a round whose client was the limit is
visible as such.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

LUA = Path(__file__).resolve().parent / "rotate.lua"
# A round is client-bound when wrk used this share or more of the CPU that wrk and the
# server used together: the server could have had that CPU instead.
CLIENT_BOUND_SHARE = 1 / 3


def ensure() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], env=env).returncode:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], env=env, check=True)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return path


def raw_request(url: str, method: str, path: str, params: dict | None = None,
                headers: dict | None = None, body: bytes = b"") -> bytes:
    host = urlsplit(url).netloc
    target = path + ("?" + urlencode(params) if params else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def write_requests(path: Path, requests: list[bytes]) -> Path:
    with path.open("wb") as out:
        for req in requests:
            out.write(b"%d\n" % len(req))
            out.write(req)
    return path


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class Round:
    name: str
    rps: float
    requests: int
    p50: float  # ms
    p90: float
    p99: float
    max: float
    errors: dict
    wrapped: int
    client_cpu: float  # seconds wrk used
    server_cpu: float  # seconds the server's workers used
    wall: float
    machine_busy: float  # share of all cores busy during the round (everyone's work)
    load: float  # 1-minute load average when the round started
    extra: dict = field(default_factory=dict)
    db_cpu: float | None = None  # seconds a database server on this machine used, if watched

    @property
    def client_share(self) -> float:
        used = self.client_cpu + self.server_cpu
        return self.client_cpu / used if used else 0.0

    @property
    def client_bound(self) -> bool:
        return self.client_share >= CLIENT_BOUND_SHARE

    def line(self) -> str:
        flag = "  CLIENT-BOUND" if self.client_bound else ""
        errs = {k: v for k, v in self.errors.items() if v}
        per_req = self.server_cpu / max(self.requests, 1) * 1000
        return (f"{self.name:<6} {self.rps:8.0f} req/s  p50 {self.p50:6.1f}  p99 {self.p99:6.1f}"
                f"  max {self.max:6.1f} ms  server CPU {per_req:5.2f} ms/req  wrk CPU {self.client_cpu / self.wall:4.0%} of a core,"
                f" {self.client_share:4.0%} of wrk+server  machine busy {self.machine_busy:4.0%}"
                f"  load {self.load:4.1f}"
                + (f"  db CPU {self.db_cpu / max(self.requests, 1) * 1000:5.2f} ms/req"
                   if self.db_cpu is not None else "")
                + (f"  errors {errs}" if errs else "")
                + (f"  WRAPPED x{self.wrapped}" if self.wrapped else "") + flag)


def run(name: str, url: str, path: str, requests_file: Path, server, seconds: int = 10,
        threads: int = 2, connections: int = 16, database_pid: int | None = None) -> Round:
    """One round of wrk against `url + path`; `server` (bench/servers.Server) for its CPU,
    `database_pid` (a database server on this machine) for its CPU too."""
    from servers import cpu_seconds

    cmd = [ensure(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(LUA), url.rstrip("/") + path, "--", str(requests_file), str(threads)]
    load = os.getloadavg()[0]
    server0, (busy0, total0) = server.cpu_seconds(), _machine_cpu()
    db0 = cpu_seconds(database_pid) if database_pid else None
    t0 = time.perf_counter()
    out_path = requests_file.with_suffix(".out")
    with out_path.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    server_cpu = server.cpu_seconds() - server0
    db_cpu = cpu_seconds(database_pid) - db0 if database_pid else None
    busy1, total1 = _machine_cpu()
    text = out_path.read_text("utf-8", "replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("WRK ")), None)
    if proc.returncode or line is None:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{text[-2000:]}")
    w = json.loads(line[4:])
    errors = {k: w[k] for k in ("connect", "read", "write", "status", "timeout")}
    return Round(name=name, rps=w["requests"] / (w["duration_us"] / 1e6), requests=w["requests"],
                 p50=w["p50_us"] / 1000, p90=w["p90_us"] / 1000, p99=w["p99_us"] / 1000,
                 max=w["max_us"] / 1000, errors=errors, wrapped=w["wrapped"],
                 client_cpu=usage.ru_utime + usage.ru_stime, server_cpu=server_cpu, wall=wall,
                 machine_busy=(busy1 - busy0) / max(total1 - total0, 1), load=load, db_cpu=db_cpu)


def commit() -> str:
    """The code measured: the commit, and '+dirty' when the tree has changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "wx_member", "handlers", "bench"],
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
