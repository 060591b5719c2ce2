"""Behind a proxy: X-Forwarded-For is believed only from WX_FORWARDED_ALLOW_IPS, so the
login rate limit counts the real client behind a trusted proxy, and a client talking to
the app directly cannot dodge the limit by sending the header. Over HTTP."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from api_helpers import api_config, mini_sandbox  # noqa: F401
from conftest import serve
from wx_member.config import Config
from wx_member.models import RateLimitCounter
from wx_member.web.proxy import TrustedProxyFix


def _login(live, sandbox, openid: str, forwarded: str | None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return requests.post(live.url + "api/login", headers=headers, timeout=30,
                         json={"code": sandbox.issue_login_code(openid)})


def _counted(live) -> list[str]:
    with live.session() as s, s.read():
        return sorted(k for k in s.scalars(select(RateLimitCounter.key)))


def test_a_trusted_proxy_has_each_client_counted_alone(db_url, mini_sandbox):
    # The test client is on loopback: here it plays nginx, which is trusted.
    config = api_config(db_url, mini_sandbox, login_rate_limit="2/minute",
                        forwarded_allow_ips=("10.0.0.0/8", "127.0.0.1"))
    for live in serve(config):
        for n in range(2):
            assert _login(live, mini_sandbox, f"oA{n}", "203.0.113.7").status_code == 200
        refused = _login(live, mini_sandbox, "oA3", "203.0.113.7")
        assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMITED")
        # Another client behind the same proxy has its own count; what a client itself put
        # in the header before the proxy's hop is not believed (only the last hop is).
        assert _login(live, mini_sandbox, "oB1", "198.51.100.1, 203.0.113.8").status_code == 200
        assert _login(live, mini_sandbox, "oB2", "203.0.113.7, 203.0.113.8").status_code == 200
        keys = _counted(live)
        assert len(keys) == 2 and "203.0.113.7" in keys[0] + keys[1]
        assert not any("127.0.0.1" in k or "198.51.100.1" in k for k in keys)


def test_an_untrusted_peer_cannot_choose_its_address(db_url, mini_sandbox):
    config = api_config(db_url, mini_sandbox, login_rate_limit="2/minute",
                        forwarded_allow_ips=("10.1.2.3",))
    for live in serve(config):
        answers = [_login(live, mini_sandbox, f"oC{n}", f"203.0.113.{n}") for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert [k for k in _counted(live) if "127.0.0.1" in k] == _counted(live) != []


def test_allowed_proxies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WX_FORWARDED_ALLOW_IPS", " 10.0.0.0/24, 127.0.0.1 ")
    assert Config.from_env(dotenv=False).forwarded_allow_ips == ("10.0.0.0/24", "127.0.0.1")
    monkeypatch.delenv("WX_FORWARDED_ALLOW_IPS")
    assert Config.from_env(dotenv=False).forwarded_allow_ips == ("127.0.0.1",)
    fix = TrustedProxyFix(None, ("10.0.0.0/24", "::1"))
    assert [fix.trusted(p) for p in ("10.0.0.9", "10.0.1.9", "::1", "", None, "x")] == [
        True, False, True, False, False, False]
    assert TrustedProxyFix(None, ("*",)).trusted("192.0.2.1")
    with pytest.raises(ValueError):
        TrustedProxyFix(None, ("not-an-address",))
