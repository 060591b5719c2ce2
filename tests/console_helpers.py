"""The operator console under test: the app with a secret key, accounts, and a browser-like
HTTP client that logs in and sends the CSRF token as a form does."""
from __future__ import annotations

import re
import secrets

import pytest
import requests

from conftest import make_config, serve
from wx_member.console import operators

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console(db_url, sandbox):
    """The app with the console enabled (plain HTTP, so cookies are not HTTPS-only)."""
    yield from serve(make_config(db_url, sandbox, secret_key=secrets.token_hex(32),
                                 cookie_secure=False))


def add_operator(live, username: str, role: str, password: str = PASSWORD):
    with live.session() as s:
        return operators.create(s, username, password, role, by="test")


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1) or m.group(2)


class Browser:
    """A requests session that behaves like a browser with forms: it keeps the cookie and
    takes the CSRF token from the page it posts from."""

    def __init__(self, live):
        self.base = live.url.rstrip("/")
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kw) -> requests.Response:
        res = self.http.get(self.base + path, **kw)
        m = CSRF_RE.search(res.text) if res.headers.get("content-type", "").startswith(
            "text/html") else None
        if m:
            self.token = m.group(1) or m.group(2)
        return res

    def post(self, path: str, data: dict | None = None, csrf: bool = True,
             **kw) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        kw.setdefault("allow_redirects", False)
        return self.http.post(self.base + path, data=data, **kw)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/admin/login")
        return self.post("/admin/login", {"username": username, "password": password})


def logged_in(live, username: str, role: str) -> Browser:
    add_operator(live, username, role)
    b = Browser(live)
    res = b.login(username)
    assert res.status_code == 302, res.text
    b.get("/admin/")
    return b
