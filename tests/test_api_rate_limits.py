"""The mini-program API's login limit is one count for every process and host: in the
database without REDIS_URL (two gunicorn servers, two workers each, on one database), in
Redis with it. Over HTTP, both backends."""
from __future__ import annotations

from datetime import datetime, timezone

import redis
import requests
import time_machine
from sqlalchemy import select

from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401
from conftest import serve
from deploy_helpers import Gunicorn, app_env, redis_url  # noqa: F401
from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.models import RateLimitCounter

LIMITED = {"code": "RATE_LIMITED", "message": "操作太频繁，请稍后再试。"}


def login(url: str, sandbox, openid: str):
    return requests.post(url + "api/login", timeout=30,
                         json={"code": sandbox.issue_login_code(openid)})


def counters(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s, s.read():
            return {r.key: len(r.hits.split()) for r in s.scalars(select(RateLimitCounter))}
    finally:
        engine.dispose()


def test_two_app_servers_share_one_login_limit_in_the_database(db_url, mini_sandbox, tmp_path):
    config = api_config(db_url, mini_sandbox)
    migrate.upgrade(db_url)
    env = app_env(config, WX_MINI_APPID=config.mini_appid, WX_MINI_SECRET=config.mini_secret,
                  WX_MEMBER_SECRET_KEY=config.secret_key, WX_API_LOGIN_LIMIT="10/hour")
    servers = [Gunicorn(env, tmp_path / f"app{i}.log", workers=2) for i in (1, 2)]
    try:
        for server in servers:
            server.wait_ready()
        answers = [login(servers[i % 2].url, mini_sandbox, f"oMini-{i}") for i in range(10)]
        assert [a.status_code for a in answers] == [200] * 10
        assert [a.headers["X-RateLimit-Remaining"] for a in answers[-2:]] == ["1", "0"]
        for server in servers:  # the 11th, on either server, by any worker
            refused = login(server.url, mini_sandbox, "oMini-11")
            assert (refused.status_code, refused.json()) == (429, LIMITED)
            assert int(refused.headers["Retry-After"]) > 3500
    finally:
        for server in servers:
            server.stop()
    assert list(counters(db_url).values()) == [10]  # refused logins are not recorded


def test_the_login_limit_lifts_when_its_window_has_passed(db_url, mini_sandbox):
    config = api_config(db_url, mini_sandbox, login_rate_limit="3/minute")
    with time_machine.travel(datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc), tick=False) as t:
        for live in serve(config):
            client = ApiClient(live, mini_sandbox)
            assert [client.post("login", json={"code": f"bad{i}"}).status_code
                    for i in range(3)] == [400] * 3  # failed logins count too
            t.shift(59)
            assert client.post("login", json={"code": "bad"}).status_code == 429
            t.shift(2)  # a minute and a second after the first three
            assert client.login("oMini-back").body["created"] is True
            assert client.post("login", json={"code": "bad"}).status_code == 400
            assert client.post("login", json={"code": "bad"}).status_code == 400
            assert client.post("login", json={"code": "bad"}).status_code == 429


def test_apps_in_one_process_share_a_database_count_not_another(db_url, mini_sandbox, tmp_path):
    """Each app counts in its own storage (tests and tools make several apps in a process;
    Flask-Limiter alone would send every app's hits to the last one's storage)."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    apps = [serve(api_config(url, mini_sandbox, login_rate_limit="4/hour"))
            for url in (db_url, db_url, other)]
    one, two, elsewhere = (next(gen) for gen in apps)
    try:
        codes = [login(app.url, mini_sandbox, f"oMini-{i}").status_code
                 for i, app in enumerate([one, two, one, two, two, one])]
        assert codes == [200] * 4 + [429] * 2
        assert login(elsewhere.url, mini_sandbox, "oMini-x").status_code == 200
    finally:
        for gen in apps:
            gen.close()
    assert list(counters(db_url).values()) == [4] and list(counters(other).values()) == [1]


def test_with_redis_url_hosts_on_separate_databases_share_the_limit(db_url, mini_sandbox,
                                                                     redis_url, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    apps = [serve(api_config(url, mini_sandbox, login_rate_limit="3/hour", redis_url=redis_url))
            for url in (db_url, other)]
    one, two = (next(gen) for gen in apps)
    try:
        codes = [login(app.url, mini_sandbox, f"oMini-{i}").status_code
                 for i, app in enumerate([one, two, one, two])]
        assert codes == [200] * 3 + [429]
        assert login(one.url, mini_sandbox, "oMini-4").status_code == 429
    finally:
        for gen in apps:
            gen.close()
    assert counters(db_url) == {} and counters(other) == {}
    keys = redis.Redis.from_url(redis_url).keys("*LIMITER*")
    assert [k.decode() for k in keys] == ["LIMITS:LIMITER/127.0.0.1/login.login/3/1/hour"]


def test_logins_go_on_unlimited_while_redis_is_down(db_url, mini_sandbox, caplog):
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        down = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    config = api_config(db_url, mini_sandbox, login_rate_limit="1/hour", redis_url=down)
    for live in serve(config):
        answers = [login(live.url, mini_sandbox, f"oMini-{i}") for i in range(2)]
        assert [a.status_code for a in answers] == [200, 200]
        assert all(a.json()["created"] for a in answers)
    assert "Failed to rate limit" in caplog.text  # and said so in the log


def test_every_blueprint_with_a_limit_is_one_the_limiter_checks():
    """The limiter skips blueprints outside LIMITED_BLUEPRINTS (a join pays nothing for it):
    a route given a limit in a blueprint missing from that set would silently be unlimited,
    as the till's identify once was."""
    import re
    from pathlib import Path

    from wx_member.web.api.limits import LIMITED_BLUEPRINTS

    web = Path(__file__).resolve().parents[1] / "wx_member" / "web"
    limited = set()
    for module in web.rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        if "@limiter.limit(" in source:
            limited.update(re.findall(r'\bblueprint\(\s*"([a-z_]+)"', source))
    assert limited and limited <= LIMITED_BLUEPRINTS, limited - LIMITED_BLUEPRINTS
