"""Fixtures and helpers for the deployment tests: a private Redis database, a MariaDB-only
database, and gunicorn started with the shipped configuration as a real process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import fresh_mariadb_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _own_database(url: str) -> str:
    """Under pytest-xdist each worker (gw0, gw1, ...) takes its own Redis database number
    (the URL's, plus the worker's), since the fixture below empties the database it uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    base, _, number = url.rstrip("/").rpartition("/")
    return f"{base}/{int(number or 0) + int(worker[2:])}"


REDIS_URL = _own_database(os.environ.get("WX_MEMBER_TEST_REDIS_URL", ""))
REQUIRE_REDIS = os.environ.get("WX_MEMBER_REQUIRE_REDIS") == "1"


@pytest.fixture
def redis_url():
    """An empty Redis database (scripts/test starts a private server)."""
    if not REDIS_URL:
        if REQUIRE_REDIS:
            pytest.fail("WX_MEMBER_REQUIRE_REDIS=1 but WX_MEMBER_TEST_REDIS_URL is not set")
        pytest.skip("Redis not configured (run scripts/test)")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def mariadb_url():
    """A fresh MariaDB database, for what only MariaDB has (mariadb-dump, many hosts)."""
    yield from fresh_mariadb_database()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float, every: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def metric(url: str, name: str, **labels) -> float:
    """One sample of the app's /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    body = requests.get(url + "metrics", timeout=10).text
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def app_env(config, **extra) -> dict[str, str]:
    """The environment a deployed process gets for `config` (tests.conftest.make_config)."""
    env = {**os.environ, "DATABASE_URL": config.database_url, "WX_APPID": config.appid,
           "WX_SECRET": config.secret, "WX_TOKEN": config.token,
           "WX_ENCODING_AES_KEY": config.encoding_aes_key, "WX_API_BASE": config.api_base,
           "WX_MP_BASE": config.mp_base, "WXPAY_MCH_ID": config.mch_id,
           "WXPAY_API_KEY": config.pay_api_key, "WXPAY_APIV3_KEY": config.pay_apiv3_key,
           "WXPAY_PLATFORM_CERT": config.pay_platform_cert, "REDIS_URL": config.redis_url}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Gunicorn:
    """`gunicorn -c python:wx_member.gunicorn_conf`, the shipped configuration, as a process
    with its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2,
                 cwd: Path = ROOT, python: str = sys.executable):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        self.metrics_dir = str(log.parent / f"metrics-{self.port}")  # a scheduler may share it
        Path(self.metrics_dir).mkdir()
        env = {**env, "WX_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
               "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir}
        self._out = open(log, "wb")
        self.proc = subprocess.Popen([python, "-m", "gunicorn", "-c", "python:wx_member.gunicorn_conf"],
                                     env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> "Gunicorn":
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:  # a worker still importing the app answers late: ask again
                return requests.get(self.url + "healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(up, seconds, 0.1), f"gunicorn did not start: {self.log.read_text()[-2000:]}"
        return self

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._out.close()
