"""`SandboxClient`: the sandbox's control API over HTTP, with the method names of `Sandbox`,
for a sandbox running in another process (`wx-member sandbox`, a benchmark's server)."""
from __future__ import annotations

from typing import Any

import requests


class SandboxError(Exception):
    """The control API refused a call (bad arguments)."""


class SandboxClient:
    def __init__(self, url: str, session: requests.Session | None = None,
                 timeout: float = 10.0):
        """`url`: the sandbox's base URL, as `Sandbox.url` prints it."""
        self.url = url if url.endswith("/") else url + "/"
        self.http = session or requests.Session()
        self.timeout = timeout

    def _call(self, method: str, name: str, **payload: Any) -> Any:
        kwargs: dict[str, Any] = {"params": payload} if method == "GET" else {"json": payload}
        res = self.http.request(method, f"{self.url}_sandbox/{name}", timeout=self.timeout,
                                **kwargs)
        if res.status_code >= 400:
            raise SandboxError(f"{name}: HTTP {res.status_code}: {res.text}")
        return res.json()

    # -- inspection -----------------------------------------------------------------------
    def sent(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "sent", **({"kind": kind} if kind else {}))

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    @property
    def token_fetches(self) -> int:
        return self.stats()["token_fetches"]

    @property
    def menu(self) -> dict[str, Any] | None:
        return self._call("GET", "menu")["menu"]

    @property
    def qrcodes(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "qrcodes")

    # -- failures -------------------------------------------------------------------------
    def clear(self) -> None:
        self._call("POST", "reset")

    def inject(self, path: str, errcode: int | None = None, http_status: int | None = None,
               delay: float = 0.0, times: int = 1) -> None:
        self._call("POST", "inject", path=path, errcode=errcode, http_status=http_status,
                   delay=delay, times=times)

    def quota(self, path: str, limit: int) -> None:
        self._call("POST", "quota", path=path, limit=limit)

    def expire_tokens(self) -> None:
        self._call("POST", "expire-tokens")

    # -- users ----------------------------------------------------------------------------
    def follow(self, openid: str) -> None:
        self._call("POST", "follow", openid=openid)

    def unfollow(self, openid: str) -> None:
        self._call("POST", "unfollow", openid=openid)

    def interact(self, openid: str, at: float | None = None) -> None:
        self._call("POST", "interact", openid=openid, at=at)

    def grant_subscribe(self, openid: str, template_id: str, count: int = 1) -> None:
        self._call("POST", "grant", openid=openid, template_id=template_id, count=count)

    def issue_login_code(self, openid: str, unionid: str | None = None) -> str:
        return self._call("POST", "login-code", openid=openid, unionid=unionid)["code"]

    def note(self, openid: str, who: str, kind: str, text: str) -> None:
        self._call("POST", "note", openid=openid, who=who, kind=kind, text=text)

    def issue_phone_code(self, phone: str, country_code: str = "86") -> str:
        return self._call("POST", "phone-code", phone=phone, country_code=country_code)["code"]

    # -- WeChat Pay (sandbox/merchant.py) -------------------------------------------------
    def pay(self, out_trade_no: str, fail: bool = False, notify: bool = True) -> dict[str, Any]:
        return self._call("POST", "pay", out_trade_no=out_trade_no, fail=fail, notify=notify)

    def settle_refunds(self) -> list[dict[str, Any]]:
        return self._call("POST", "settle-refunds")
