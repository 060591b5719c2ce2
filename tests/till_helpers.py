"""Helpers for the /till/v1 tests: stores and till keys made through the use cases (as the
CLI and console make them), and a JSON client that calls as one till."""
from __future__ import annotations

import requests

from wx_member.members import stores
from wx_member.payments import till_keys


def open_store(live, code: str, name: str | None = None) -> int:
    with live.session() as uow:
        return stores.create(uow, code, name or f"{code} 店", by="test").id


def issue_key(live, store_code: str, label: str = "") -> till_keys.Issued:
    with live.session() as uow:
        return till_keys.issue(uow, store_code, label, by="test")


class Till:
    """Calls /till/v1 with one key (None: no Authorization header)."""

    def __init__(self, live, key: str | None):
        self.base = live.url + "till/v1/"
        self.key = key
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        return self.http.request(method, self.base + path.lstrip("/"), headers=headers,
                                 timeout=30, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def identify(self, **body) -> requests.Response:
        return self.post("members/identify", json=body)


def three_tills(live) -> tuple[Till, Till, Till]:
    """Stores SH001 人民广场店 and BJ001 国贸店: two tills of SH001, one of BJ001."""
    open_store(live, "SH001", "人民广场店")
    open_store(live, "BJ001", "国贸店")
    return (Till(live, issue_key(live, "SH001", "1号").key),
            Till(live, issue_key(live, "SH001", "2号").key),
            Till(live, issue_key(live, "BJ001").key))
