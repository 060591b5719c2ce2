"""The console on its own gunicorn (docs/deploy.md): the shipped config's 6 s `timeout`
suits the webhook (WeChat gives up after 5 s) but kills an operator's long run; the console
server is the same config with `WX_GUNICORN_TIMEOUT` raised. A 群发 whose WeChat call takes
longer than the webhook's timeout is cut off on the web server and goes through on the
console server."""
from __future__ import annotations

import secrets

import requests

from conftest import make_config
from console_helpers import Browser, add_operator
from deploy_helpers import Gunicorn, app_env
from test_console_mass import flash, followers_tagged
from wx_member import migrate


class _At:
    def __init__(self, url: str):
        self.url = url


def test_a_long_operator_run_is_cut_off_on_the_web_server_and_not_on_the_console_server(
        db_url, sandbox, tmp_path):
    config = make_config(db_url, sandbox, secret_key=secrets.token_hex(32), cookie_secure=False)
    migrate.upgrade(db_url)
    env = app_env(config, WX_MEMBER_SECRET_KEY=config.secret_key, WX_MEMBER_COOKIE_SECURE="0")
    web = Gunicorn({**env, "WX_GUNICORN_TIMEOUT": "2"}, tmp_path / "web.log", workers=1)
    console = Gunicorn({**env, "WX_GUNICORN_TIMEOUT": "30"}, tmp_path / "console.log",
                       workers=1)
    try:
        web.wait_ready()
        console.wait_ready()
        live = _At(web.url)
        live.simulator = lambda: _simulator(web.url, config)
        live.session = _sessions(db_url)
        followers_tagged(live, "VIP", ["oLong1", "oLong2"])
        add_operator(live, "ops", "operator")
        on_web, on_console = Browser(_At(web.url)), Browser(_At(console.url))
        for b in (on_web, on_console):
            assert b.login("ops").status_code == 302
            b.get("/admin/mass")
        assert on_console.post("/admin/mass/sync").status_code == 302
        on_console.get("/admin/mass")

        sandbox.inject("cgi-bin/message/mass/sendall", delay=3.5)  # WeChat is slow today
        cut_off = _send(on_web, "慢一点")
        assert cut_off is None or cut_off.status_code >= 500
        assert any("WORKER TIMEOUT" in line for line in web.log_lines())  # killed mid-request

        sandbox.inject("cgi-bin/message/mass/sendall", delay=3.5)
        res = _send(on_console, "慢一点也发出")
        assert res is not None and res.status_code == 302, res
        assert "已向标签「VIP」群发「慢一点也发出」：已提交微信" in flash(on_console.get("/admin/mass").text)
    finally:
        web.stop()
        console.stop()


def _send(b: Browser, occasion: str) -> requests.Response | None:
    """The 群发 form posted; None when the server closed the connection unanswered."""
    try:
        return b.post("/admin/mass/send", {"tag": "VIP", "content": "text", "text": "你好",
                                           "occasion": occasion}, timeout=20)
    except requests.ConnectionError:
        return None


def _simulator(url: str, config):
    from wx_member.sandbox import Simulator

    return Simulator(url + "wechat", token=config.token, appid=config.appid)


def _sessions(db_url: str):
    from wx_member.db import make_engine, make_session_factory

    return make_session_factory(make_engine(db_url))
