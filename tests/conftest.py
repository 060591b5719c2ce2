"""Fixtures: every database test runs on SQLite and on MariaDB; the app is served over real
HTTP on loopback and talks to the WeChat sandbox, also over HTTP.

MariaDB: `scripts/test` starts a private server and sets WX_MEMBER_TEST_MARIADB_URL; each
test gets its own database, created by the migrations like production.
"""
from __future__ import annotations

import os
import secrets
import string
import threading
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from wx_member import migrate
from wx_member.app import create_app
from wx_member.config import Config
from wx_member.extensions import Runtime
from wx_member.sandbox import Sandbox, Simulator

MARIADB_URL = os.environ.get("WX_MEMBER_TEST_MARIADB_URL", "")
REQUIRE_MARIADB = os.environ.get("WX_MEMBER_REQUIRE_MARIADB") == "1"
APPID, SECRET = "wxtest0000000001", "test-secret-" + secrets.token_hex(4)


def random_aes_key() -> str:
    letters = string.ascii_letters + string.digits
    return "".join(secrets.choice(letters) for _ in range(43))


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from fresh_mariadb_database()


def fresh_mariadb_database():
    """Yields the URL of a new, empty MariaDB database and drops it afterwards; skips (or,
    under scripts/test, fails) when no server is configured."""
    if not MARIADB_URL:
        if REQUIRE_MARIADB:
            pytest.fail("WX_MEMBER_REQUIRE_MARIADB=1 but WX_MEMBER_TEST_MARIADB_URL is not set")
        pytest.skip("MariaDB not configured (run scripts/test)")
    name = f"wxm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(MARIADB_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield sa.make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.fixture
def sandbox():
    with Sandbox(appid=APPID, secret=SECRET) as sb:
        yield sb


def make_config(db_url: str, sandbox: Sandbox, aes_key: str = "", **extra) -> Config:
    return Config(appid=APPID, secret=SECRET, token="tok" + secrets.token_hex(6),
                  encoding_aes_key=aes_key, api_base=sandbox.url, mp_base=sandbox.url,
                  database_url=db_url, **extra)


@dataclass
class Live:
    app: Flask
    url: str  # base URL, with trailing slash
    config: Config

    @property
    def rt(self) -> Runtime:
        return self.app.extensions["wx_member"]

    @property
    def webhook(self) -> str:
        return self.url + "wechat"

    def session(self):
        return self.rt.sessions()

    def simulator(self, **kw) -> Simulator:
        kw.setdefault("encoding_aes_key", self.config.encoding_aes_key or None)
        return Simulator(self.webhook, token=self.config.token, appid=self.config.appid, **kw)


def serve(config: Config):
    migrate.upgrade(config.database_url)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() otherwise waits 0.5 s per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Live(app=app, url=f"http://127.0.0.1:{server.port}/", config=config)
    finally:
        server.shutdown()
        app.extensions["wx_member"].dispose()


@pytest.fixture
def live(db_url, sandbox):
    """The app, plain mode, on a fresh database, served over HTTP."""
    yield from serve(make_config(db_url, sandbox))


@pytest.fixture
def live_aes(db_url, sandbox):
    """The app in safe mode (AES), on a fresh database."""
    yield from serve(make_config(db_url, sandbox, aes_key=random_aes_key()))


@pytest.fixture
def sim(live) -> Simulator:
    return live.simulator()


@pytest.fixture
def session(db_url):
    """A session on a freshly migrated database, for service tests without HTTP."""
    from wx_member.db import make_engine, make_session_factory

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


# ---- WeChat Pay (issue 3): the app with merchant keys, and WeChat Pay's notifier ----------

MCH_ID = "1900000109"


@pytest.fixture(scope="session")
def platform_cert():
    """A stand-in for WeChat Pay's platform certificate and its private key (RSA 2048)."""
    from wx_member.sandbox.pay import make_platform_cert

    return make_platform_cert()


@pytest.fixture
def live_pay(db_url, sandbox, platform_cert, tmp_path):
    """The app (plain mode) with WeChat Pay v2 and v3 configured, on a fresh database."""
    cert = tmp_path / "wechatpay_platform.pem"
    cert.write_bytes(platform_cert.cert_pem)
    yield from serve(make_config(db_url, sandbox, mch_id=MCH_ID,
                                 pay_api_key=secrets.token_hex(16),
                                 pay_apiv3_key=secrets.token_hex(16),
                                 pay_platform_cert=str(cert)))


@pytest.fixture
def pay_sim(live_pay) -> Simulator:
    """Webhook events (joining) for the `live_pay` app."""
    return live_pay.simulator()


@pytest.fixture
def payer(live_pay, platform_cert):
    """Posts v2/v3 payment and refund notifies to the `live_pay` app as WeChat Pay does."""
    from wx_member.sandbox.pay import PayNotifier

    cfg = live_pay.config
    return PayNotifier(live_pay.url, cfg.appid, cfg.mch_id, api_key=cfg.pay_api_key,
                       apiv3_key=cfg.pay_apiv3_key,
                       platform_private_key=platform_cert.private_key_pem,
                       platform_serial=platform_cert.serial)
