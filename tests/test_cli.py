"""The `wx-member` console script."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "wx-member"


def run(*args, db_url):
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=60)


def test_db_upgrade_then_member_show_json(live, sim, db_url):
    alice = sim.subscribe("oAlice")
    from helpers import member

    card = member(live, "oAlice").card_no
    sim.subscribe("oBob", scene=f"ref_{card}")
    assert run("db", "upgrade", db_url=db_url).returncode == 0  # already at head: a no-op
    out = run("member", "show", "oBob", "--json", db_url=db_url)
    assert out.returncode == 0, out.stderr
    bob = json.loads(out.stdout)
    assert bob["referrer_card_no"] == card and bob["channel"] == f"ref_{card}"
    assert bob["points"] == bob["ledger_sum"] == 10 and bob["tier"] == "normal"
    assert [r["reason"] for r in bob["ledger"]] == ["signup"]
    assert alice.status == 200


def test_member_show_unknown_openid_fails_clearly(live, db_url):
    out = run("member", "show", "oNobody", db_url=db_url)
    assert out.returncode == 2 and "no member" in out.stderr


def test_db_upgrade_creates_schema_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    out = run("db", "upgrade", db_url=url)
    assert out.returncode == 0, out.stderr
    out = run("settings", "show", db_url=url)
    assert "signup_points = 10" in out.stdout


def test_runs_as_a_module_too(tmp_path):
    """`python -m wx_member.cli` (no console script on the PATH) has every command."""
    url = f"sqlite:///{tmp_path / 'module.db'}"
    out = subprocess.run([sys.executable, "-m", "wx_member.cli", "db", "upgrade"],
                         env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "database at" in out.stdout
    listed = subprocess.run([sys.executable, "-m", "wx_member.cli", "--help"],
                            capture_output=True, text=True, timeout=60).stdout
    assert {"coupon", "points", "serve", "sandbox"} <= set(listed.split())
