"""Console accounts: login, rate limit, CSRF, roles, session cookies, create-admin."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from console_helpers import PASSWORD, Browser, add_operator, console, logged_in  # noqa: F401
from conftest import make_config, serve

from wx_member.models import AuditLog, LoginAttempt, Operator
from wx_member.console import operators

BIN = Path(sys.executable).parent / "wx-member"


def test_login_logout_and_pages_need_an_operator(console):
    b = Browser(console)
    res = b.get("/admin/", allow_redirects=False)
    assert res.status_code == 302 and "/admin/login" in res.headers["location"]
    add_operator(console, "alice", "operator")
    bad = b.login("alice", "wrong password!")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    assert b.login("nobody", PASSWORD).status_code == 401
    ok = b.login("alice")
    assert ok.status_code == 302
    page = b.get("/admin/")
    assert page.status_code == 200 and "alice（运营）" in page.text
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert b.post("/admin/logout").status_code == 302
    assert b.get("/admin/", allow_redirects=False).status_code == 302


def test_secure_cookie_and_headers_in_production_config(db_url, sandbox):
    for live in serve(make_config(db_url, sandbox, secret_key="k" * 32)):
        add_operator(live, "sec", "viewer")
        page = Browser(live).get("/admin/login")
        assert "secure" in page.headers["set-cookie"].lower().split("; ")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_console_without_secret_key_is_disabled(live):
    import requests

    res = requests.get(live.url + "admin/login")
    assert res.status_code == 503 and "WX_MEMBER_SECRET_KEY" in res.text


def test_login_is_rate_limited_per_username(console):
    add_operator(console, "bob", "admin")
    add_operator(console, "carol", "viewer")
    b = Browser(console)
    for _ in range(operators.MAX_FAILURES_PER_USER):
        assert b.login("bob", "not the password").status_code == 401
    refused = b.login("bob")  # the right password, too late
    assert refused.status_code == 401 and "登录失败次数过多" in refused.text
    assert b.login("carol").status_code == 302  # another account is not locked
    with console.session() as s, s.read():
        assert s.query(LoginAttempt).filter_by(username="bob", ok=False).count() == 5


def test_rate_limit_window_passes(session):
    from datetime import timedelta

    from wx_member.models import utcnow

    operators.create(session, "dave", PASSWORD, "viewer", by="test")
    then = utcnow() - timedelta(minutes=20)
    for _ in range(5):
        try:
            operators.authenticate(session, "dave", "wrong wrong", "1.2.3.4", now=then)
        except operators.LoginRefused:
            pass
    assert operators.authenticate(session, "dave", PASSWORD, "1.2.3.4").username == "dave"


def test_post_without_csrf_token_is_refused_and_changes_nothing(console):
    b = logged_in(console, "root", "admin")
    form = {"new-username": "mallory", "new-password": PASSWORD, "new-role": "admin"}
    res = b.post("/admin/operators", form, csrf=False)
    assert res.status_code == 400 and "CSRF" in res.text
    res = b.post("/admin/operators", {**form, "csrf_token": "forged"})
    assert res.status_code == 400
    with console.session() as s, s.read():
        assert s.query(Operator).filter_by(username="mallory").count() == 0
    assert b.post("/admin/operators", form).status_code == 302
    with console.session() as s, s.read():
        assert s.query(Operator).filter_by(username="mallory").one().role == "admin"
        assert s.query(AuditLog).filter_by(action="operator.create", target="mallory").count() == 1


def test_roles_viewer_reads_only_operator_no_admin_pages(console):
    viewer = logged_in(console, "vera", "viewer")
    assert viewer.get("/admin/").status_code == 200
    assert viewer.post("/admin/logout").status_code == 302  # logging out is allowed
    viewer = Browser(console)
    viewer.login("vera")
    viewer.get("/admin/")
    res = viewer.post("/admin/operators", {"new-username": "x1x", "new-password": PASSWORD,
                                           "new-role": "viewer"})
    assert res.status_code == 403 and "没有权限" in res.text
    op = logged_in(console, "otto", "operator")
    assert op.get("/admin/operators").status_code == 403
    admin = logged_in(console, "ada", "admin")
    assert admin.get("/admin/operators").status_code == 200


def test_deactivating_an_operator_ends_their_session(console):
    victim = logged_in(console, "eve", "operator")
    admin = logged_in(console, "ada", "admin")
    with console.session() as s, s.read():
        eve = s.query(Operator).filter_by(username="eve").one()
    page = admin.get("/admin/operators")
    assert page.status_code == 200
    res = admin.post(f"/admin/operators/{eve.id}", {f"op{eve.id}-role": "operator"})
    assert res.status_code == 302  # active unchecked → deactivated
    assert victim.get("/admin/", allow_redirects=False).status_code == 302
    assert victim.login("eve").status_code == 401


def test_last_admin_cannot_be_demoted(session):
    ada = operators.create(session, "ada", PASSWORD, "admin", by="test")
    try:
        operators.update(session, ada.id, "ada", role="viewer")
    except operators.InvalidOperator as exc:
        assert "管理员" in exc.user_message
    else:
        raise AssertionError("the last admin was demoted")


def test_login_redirects_only_inside_the_console(console):
    add_operator(console, "nina", "viewer")
    b = Browser(console)
    b.get("/admin/login")
    res = b.post("/admin/login?next=//evil.example/x", {"username": "nina", "password": PASSWORD})
    assert res.headers["location"] == "/admin/"


def test_create_admin_command(db_url):
    from wx_member import migrate

    migrate.upgrade(db_url)
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    run = lambda pw: subprocess.run([str(BIN), "create-admin", "root", "--password-stdin"],  # noqa: E731
                                    input=pw + "\n", env=env, capture_output=True, text=True,
                                    timeout=60)
    assert run("short").returncode == 2
    out = run(PASSWORD)
    assert out.returncode == 0, out.stderr
    from wx_member.db import make_engine, make_session_factory

    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        op = operators.authenticate(s, "root", PASSWORD, "127.0.0.1")
        assert op.role == "admin" and op.password_hash.startswith("$argon2id$")
    engine.dispose()


def test_no_console_template_relies_on_what_the_csp_refuses():
    """The console's Content-Security-Policy allows scripts from /admin/static only: an
    inline handler (`onsubmit="return confirm(…)"`), an inline <script> or a `javascript:`
    link is silently ignored by the browser, so the question or action it carries never
    happens (挂失 and merging went through unasked that way). Questions go in data-confirm."""
    import re

    from wx_member.web.admin.blueprint import CSP

    assert "script-src" not in CSP or "'unsafe-inline'" not in CSP.split("script-src")[1]
    folder = Path(__file__).resolve().parent.parent / "wx_member" / "web" / "admin" / "templates"
    found = []
    for path in sorted(folder.rglob("*.html")):
        text = path.read_text("utf-8")
        found += [f"{path.name}: {m.group(0)}" for m in re.finditer(
            r"\son[a-z]+\s*=|<script(?![^>]*\ssrc=)[^>]*>|javascript:", text)]
    assert found == []
