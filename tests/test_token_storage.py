"""The shared access token, in the database or in Redis: one contract. Several gateways
stand in for several processes (each its own storage object, as each process has)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import func, select

from conftest import make_config
from deploy_helpers import redis_url  # noqa: F401  (fixture)
from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.extensions import build_runtime
from wx_member.models import TokenCache
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway
from wx_member.wechat.redis_tokens import RedisTokenStorage
from wx_member.wechat.tokens import DbTokenStorage


@pytest.fixture(params=["database", "redis"])
def storages(request, tmp_path):
    """A factory of independent storage objects on one shared store."""
    if request.param == "database":
        url = f"sqlite:///{tmp_path / 'tokens.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        yield lambda: DbTokenStorage(sessions)
        engine.dispose()
    else:
        url = request.getfixturevalue("redis_url")
        yield lambda: RedisTokenStorage.from_url(url)


def gateways(config, storages, n=8) -> list[WeChatGateway]:
    return [WeChatGateway(config, storage=storages()) for _ in range(n)]


def call_all(gws) -> None:
    with ThreadPoolExecutor(len(gws)) as pool:
        list(pool.map(lambda g: g.send_text("oA", "hi"), gws))


def test_one_fetch_for_many_processes_and_one_refresh_when_rejected(storages, sandbox):
    sandbox.enforce_48h = False
    gws = gateways(make_config("sqlite://", sandbox), storages)
    call_all(gws)
    assert sandbox.token_fetches == 1
    assert len(sandbox.sent("custom")) == 8
    sandbox.expire_tokens()  # every process now holds a token WeChat answers 42001 to
    call_all(gws)
    assert sandbox.token_fetches == 2
    assert len(sandbox.sent("custom")) == 16


def test_a_failed_fetch_lets_the_next_caller_fetch_at_once(storages, sandbox):
    sandbox.enforce_48h = False
    first, second = gateways(make_config("sqlite://", sandbox), storages, 2)
    sandbox.inject("cgi-bin/token", http_status=500)
    with pytest.raises(GatewayError):
        first.send_text("oA", "hi")
    # The failed fetcher let go of the refresh; otherwise this waits for the lease and fails.
    second.send_text("oA", "hi")
    assert sandbox.token_fetches == 1 and len(sandbox.sent("custom")) == 1


def test_app_keeps_the_token_in_redis_when_configured(redis_url, sandbox, tmp_path):  # noqa: F811
    sandbox.enforce_48h = False
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    rt = build_runtime(make_config(url, sandbox).with_(redis_url=redis_url))
    assert isinstance(rt.gateway.client.session, RedisTokenStorage)
    rt.gateway.send_text("oA", "hi")
    stored = redis.Redis.from_url(redis_url).get(f"wx-member:{rt.config.appid}_access_token")
    assert stored is not None
    # Not in the database: a second host without the database's token table still shares it.
    with rt.sessions() as s, s.read():
        assert s.scalar(select(func.count()).select_from(TokenCache)) == 0
    rt.engine.dispose()
