"""What the benchmarks share: a free loopback port and a gunicorn server started with the
shipped config (its own bind, workers and metrics directory; no control socket, so it
cannot clash with another master)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def _stat(path: Path) -> list[str] | None:
    """The fields of a /proc/<pid>/stat after the command name; None if the process ended."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU one process has used so far (Linux /proc; 0 elsewhere)."""
    fields = _stat(Path(f"/proc/{pid}/stat"))
    return _cpu(fields) if fields else 0.0


def local_database_pid(url: str) -> int | None:
    """The MariaDB/MySQL server process behind `url` when it runs on this machine (sharing
    the cores with the app under test), else None: its CPU is part of what a request costs."""
    from urllib.parse import urlsplit
    import subprocess

    if url.startswith("sqlite") or urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        return None
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
        if len(found) == 1:
            return int(found[0])
    return None  # none, or several servers: which one is ours is not known


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with the shipped config (its own bind, workers and metrics directory; no
    control socket, so it cannot clash with another master), logging to a file."""

    def __init__(self, target: str, env: dict, workers: int, tmp: Path, name: str,
                 extra: list[str] = ()):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.log = tmp / f"{name}.log"
        metrics = tmp / f"{name}-metrics"
        metrics.mkdir()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:wx_member.gunicorn_conf",
                 *extra, target],
                env={**os.environ, **env, "WX_BIND": f"127.0.0.1:{port}",
                     "WEB_CONCURRENCY": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90  # a loaded machine boots workers slowly
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if requests.get(self.url + "healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        tail = self.log.read_text("utf-8", "replace")[-2000:]
        raise SystemExit(f"gunicorn {target} did not start; its log ends:\n{tail}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far (Linux /proc; 0 elsewhere):
        the live ones, and those gunicorn recycled (`max_requests`), which the master's
        children time holds once it has reaped them."""
        master = _stat(Path(f"/proc/{self.proc.pid}/stat"))
        total = (int(master[13]) + int(master[14])) / os.sysconf("SC_CLK_TCK") if master else 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            fields = _stat(stat)
            if fields and int(fields[1]) == self.proc.pid:  # ppid: a worker of this master
                total += _cpu(fields)
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: master + workers
                self.proc.wait()
