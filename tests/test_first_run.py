"""What a new user meets: the installed `wx-member` run in an empty directory outside the
checkout, without DATABASE_URL. Its defaults live under the working directory (or
WX_MEMBER_INSTANCE), a database without the schema is one line saying what to run (no
traceback, no empty file left behind), and commands that only read print no push-kind
warnings."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wx_member import migrate
from wx_member.config import REPO_ROOT, Config

BIN = Path(sys.executable).parent / "wx-member"
NOT_READY = ("error: the database at sqlite:///{path} has no schema (or is behind): "
             "run `wx-member db upgrade`\n")


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty working directory, outside the checkout."""
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    assert REPO_ROOT not in cwd.parents
    return cwd


def clean_env(**extra) -> dict:
    """No database, instance or push template ids from the caller's environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "WX_MEMBER_INSTANCE") and not k.startswith("WX_TEMPLATE_")}
    return {**env, "WX_API_BASE": "http://127.0.0.1:9/", **extra}


def run(cwd: Path, *args, **env):
    return subprocess.run([str(BIN), *args], cwd=cwd, env=clean_env(**env), capture_output=True,
                          text=True, timeout=60)


def test_without_a_database_one_line_says_to_upgrade_and_no_file_is_left(home):
    out = run(home, "member", "show", "oYou")
    assert out.returncode == 2
    assert out.stderr == NOT_READY.format(path=home / "instance" / "wx_member.db")
    assert out.stdout == "" and list(home.iterdir()) == []


def test_upgrade_makes_the_database_under_the_working_directory(home):
    up = run(home, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert (home / "instance" / "wx_member.db").is_file()
    show = run(home, "member", "show", "oYou")
    assert show.returncode == 2 and show.stderr == "error: no member with openid or card number 'oYou'\n"
    # Only reading: no push kind loaded, so none of their warnings (no WX_TEMPLATE_* here).
    settings = run(home, "settings", "show")
    assert settings.returncode == 0 and "signup_points = 10" in settings.stdout
    assert settings.stderr == ""
    # A command that plans and sends pushes still checks them, and says which are disabled.
    push = run(home, "push", "run", "birthday")
    assert "push kind birthday disabled" in push.stderr


def test_instance_directory_from_the_environment(home, tmp_path):
    instance = tmp_path / "var" / "wx"
    assert run(home, "db", "upgrade", WX_MEMBER_INSTANCE=str(instance)).returncode == 0
    assert (instance / "wx_member.db").is_file() and list(home.iterdir()) == []
    out = run(home, "channel", "stats", WX_MEMBER_INSTANCE=str(instance))
    assert out.returncode == 0 and out.stdout.startswith("scene") and out.stderr == ""


def test_a_database_behind_the_code_is_refused_in_one_line(home):
    db = home / "old.db"
    url = f"sqlite:///{db}"
    assert run(home, "db", "upgrade", "--revision", "0001", DATABASE_URL=url).returncode == 0
    out = run(home, "points", "gift", "list", DATABASE_URL=url)
    assert out.returncode == 2 and out.stderr == NOT_READY.format(path=db)


def test_the_web_app_refuses_to_start_without_the_schema(home):
    db = home / "instance" / "wx_member.db"
    with pytest.raises(migrate.SchemaNotReady, match="run `wx-member db upgrade`"):
        from wx_member.app import create_app

        create_app(Config(database_url=f"sqlite:///{db}"))
    assert not db.exists()


def test_gunicorn_logs_one_line_and_exits_before_any_worker(home):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    out = subprocess.run([str(gunicorn), "-c", "python:wx_member.gunicorn_conf"], cwd=home,
                         env=clean_env(WX_BIND="127.0.0.1:0", WX_LOG_FORMAT="text"),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "has no schema (or is behind)" in errors[0], out.stderr
    assert "Traceback" not in out.stderr and "Booting worker" not in out.stderr
    assert list(home.iterdir()) == []


def test_help_names_what_the_arguments_take(home):
    show = run(home, "member", "show", "--help")
    assert show.returncode == 0 and "OPENID|CARD" in show.stdout
    listed = subprocess.run([sys.executable, "-m", "wx_member.cli", "--help"], cwd=home,
                            env=clean_env(), capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    assert {"balance", "coupon", "rules", "tiers", "member", "push"} <= set(listed.stdout.split())
    assert list(home.iterdir()) == []
