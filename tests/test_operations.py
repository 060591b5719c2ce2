"""Operations: backup and restore of MariaDB with its own tools (the commands of
docs/deploy.md), and `wx-member db upgrade` while the previous release still serves."""
from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import select

from conftest import MCH_ID, make_config, serve
from deploy_helpers import ROOT, app_env, free_port, mariadb_url, wait_for  # noqa: F401
from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.models import Member, Order, PointsLedger
from wx_member.sandbox import Simulator
from wx_member.sandbox.pay import PayNotifier
from wx_member.members import membership
from wx_member.loyalty import points
from wx_member.members import privacy


@contextmanager
def serving(config):
    gen = serve(config)
    try:
        yield next(gen)
    finally:
        gen.close()


def pay_config(db_url, sandbox, platform_cert, tmp_path):
    cert = tmp_path / "wechatpay_platform.pem"
    cert.write_bytes(platform_cert.cert_pem)
    return make_config(db_url, sandbox, mch_id=MCH_ID, pay_api_key=secrets.token_hex(16),
                       pay_apiv3_key=secrets.token_hex(16), pay_platform_cert=str(cert))


def notifier(url, config, platform_cert) -> PayNotifier:
    return PayNotifier(url, config.appid, config.mch_id, api_key=config.pay_api_key,
                       apiv3_key=config.pay_apiv3_key,
                       platform_private_key=platform_cert.private_key_pem,
                       platform_serial=platform_cert.serial)


def ledger_of(session_factory, openid):
    with session_factory() as s, s.read():
        m = membership.require(s, openid)
        rows = [(r.delta, r.reason, r.idem_key) for r in s.scalars(
            select(PointsLedger).where(PointsLedger.member_id == m.id).order_by(PointsLedger.id))]
        return m.points_balance, points.ledger_sum(s, m.id), rows


def client_options(url: str, path: Path) -> Path:
    """A MariaDB client option file, as docs/deploy.md has operators keep one (mode 600)."""
    u = sa.make_url(url)
    path.write_text(f"[client]\nhost={u.host}\nport={u.port}\nuser={u.username}\n"
                    f"password={u.password}\n")
    path.chmod(0o600)
    return path


def test_dump_drop_restore_keeps_the_members_ledger(mariadb_url, sandbox, platform_cert,
                                                    tmp_path):  # noqa: F811
    if not (shutil.which("mariadb-dump") and shutil.which("mariadb")):
        pytest.fail("mariadb-client is missing (scripts/mariadb installs it)")
    config = pay_config(mariadb_url, sandbox, platform_cert, tmp_path)
    name = sa.make_url(mariadb_url).database
    opts = client_options(mariadb_url, tmp_path / "backup.cnf")
    with serving(config) as live:
        sim, payer = live.simulator(), notifier(live.url, config, platform_cert)
        sim.subscribe("oBackup")
        sim.click("oBackup", "CHECKIN")
        paid = payer.v2_payment("oBackup", "B1", 12300)
        assert paid.ok
        before = ledger_of(live.rt.sessions, "oBackup")
    assert before[0] == before[1] == 10 + 1 + 123

    # The documented backup: a consistent snapshot without locking the tables.
    dump = tmp_path / "wx_member.sql"
    with open(dump, "wb") as out:
        subprocess.run(["mariadb-dump", f"--defaults-extra-file={opts}", "--single-transaction",
                        "--routines", "--triggers", "--hex-blob",
                        "--default-character-set=utf8mb4", name], stdout=out, check=True)
    sql = f"DROP DATABASE {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    subprocess.run(["mariadb", f"--defaults-extra-file={opts}", "-e", sql], check=True)
    engine = make_engine(mariadb_url)
    assert not sa.inspect(engine).get_table_names()  # gone
    engine.dispose()
    # The documented restore (app servers and schedulers stopped meanwhile).
    with open(dump, "rb") as src:
        subprocess.run(["mariadb", f"--defaults-extra-file={opts}", name], stdin=src, check=True)

    with serving(config) as live:
        assert requests.get(live.url + "readyz", timeout=10).json()["schema"] == "current"
        assert ledger_of(live.rt.sessions, "oBackup") == before
        # The idempotency keys came back too: WeChat Pay's retry still credits nothing.
        assert notifier(live.url, config, platform_cert).replay(paid).ok
        assert ledger_of(live.rt.sessions, "oBackup") == before


def previous_release(dest: Path) -> Path:
    """The code just before the newest migration was added (git), unpacked into `dest`."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no previous release to run")
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    commits = []
    for head in script.get_heads():
        path = Path(script.get_revision(head).path).relative_to(ROOT)
        found = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H %ct", "-1",
                                # Along main only, a merge compared with main before it:
                                # a migration that came in with a merge is found there.
                                "-m", "--first-parent", "--",
                                str(path)], cwd=ROOT, capture_output=True, text=True).stdout.split()
        if not found:
            pytest.skip(f"{path} is not committed yet: no previous release to compare with")
        commits.append((int(found[1]), found[0]))
    first = min(commits)[1]
    archive = subprocess.run(["git", "archive", f"{first}^"], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"git archive {first}^ failed (shallow clone?): {archive.stderr[-200:]!r}")
    dest.mkdir()
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def test_previous_release_still_works_on_the_upgraded_schema(db_url, sandbox, platform_cert,
                                                             tmp_path):
    old = previous_release(tmp_path / "previous")
    config = pay_config(db_url, sandbox, platform_cert, tmp_path)
    migrate.upgrade(db_url)  # `wx-member db upgrade` of the new release, first
    # The previous release, still serving: its own code, this database.
    check = subprocess.run([sys.executable, "-c", "import wx_member; print(wx_member.__file__)"],
                           cwd=old, capture_output=True, text=True, check=True)
    assert check.stdout.startswith(str(old))
    port = free_port()
    log = open(tmp_path / "previous.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                             "wx_member.app:create_app()"], cwd=old, env=app_env(config),
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        sim = Simulator(url + "wechat", token=config.token, appid=config.appid)

        def up():
            try:
                return requests.get(url + "healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(up, 60, 0.1), (tmp_path / "previous.log").read_text()[-2000:]
        assert "欢迎" in sim.subscribe("oOldRelease").reply["Content"]
        assert "签到成功" in sim.click("oOldRelease", "CHECKIN").reply["Content"]
        assert notifier(url, config, platform_cert).v2_payment("oOldRelease", "O1", 5000).ok
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    # What the previous release wrote, the new one reads and serves.
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    balance, total, rows = ledger_of(sessions, "oOldRelease")
    assert balance == total == 10 + 1 + 50
    with sessions() as s, s.read():
        assert s.scalar(select(Order.amount_fen).where(Order.out_trade_no == "O1")) == 5000
        assert s.scalar(select(Member.erased_at).where(Member.openid == "oOldRelease")) is None
    with sessions() as s:
        assert privacy.export_member(s, "oOldRelease", by="test")["profile"]["points_balance"] == 61
    engine.dispose()
