"""The HTTP session the gateway gives wechatpy: requests' interface over urllib3's pool.

wechatpy calls `session.request(method, url, params=, data=, timeout=)` and reads a
`requests.Response`. requests prepares each call (URL parsing and re-quoting, merging
session settings, hooks) at about half a millisecond of CPU, twice what urllib3 needs for
the same keep-alive request; a fan-out sends a million of them from one process. So the
plain calls wechatpy makes go straight to a urllib3 pool and come back as a
`requests.Response` with requests' exceptions; anything else (files, JSON bodies, a proxy,
cookies) falls back to requests itself.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import exceptions as u3

_PLAIN = {"params", "data", "headers", "timeout"}


class PooledSession(requests.Session):
    def __init__(self, pool_maxsize: int = 32, verify: bool | str = True,
                 proxies: dict[str, str] | None = None):
        super().__init__()
        self.trust_env = False  # proxies and CA bundle are read once, by the caller
        self.verify = verify
        self.proxies.update(proxies or {})
        self.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=pool_maxsize))
        self.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=pool_maxsize))
        tls: dict[str, Any] = {"cert_reqs": "CERT_NONE"} if verify is False else {
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH}
        # Retries are the gateway's decision (a send must not be repeated blindly).
        self._pool = urllib3.PoolManager(maxsize=pool_maxsize, retries=False, **tls)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        if self.proxies or self.cookies or not kwargs.keys() <= _PLAIN or not isinstance(
                kwargs.get("data"), (bytes, str, type(None))):
            return super().request(method, url, **kwargs)
        params = kwargs.get("params")
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        data = kwargs.get("data")
        if isinstance(data, str):
            data = data.encode("utf-8")
        headers = {**self.headers, **(kwargs.get("headers") or {})}
        timeout = kwargs.get("timeout")
        if isinstance(timeout, tuple):
            timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        elif timeout is not None:
            timeout = urllib3.Timeout(timeout)
        try:
            raw = self._pool.request(method.upper(), url, body=data, headers=headers,
                                     timeout=timeout, redirect=False, preload_content=True)
        except u3.HTTPError as exc:
            raise _as_requests_error(exc) from exc
        except OSError as exc:
            raise requests.ConnectionError(exc) from exc
        return _response(raw, url)


def _response(raw: urllib3.BaseHTTPResponse, url: str) -> requests.Response:
    res = requests.Response()
    res.status_code = raw.status
    res.reason = raw.reason
    res.headers = CaseInsensitiveDict(raw.headers)
    res.encoding = get_encoding_from_headers(res.headers)
    res._content = raw.data
    res.url = url
    return res


def _as_requests_error(exc: u3.HTTPError) -> requests.RequestException:
    """The exception requests' own adapter would raise for this urllib3 failure."""
    if isinstance(exc, u3.NewConnectionError):  # a subclass of ConnectTimeoutError
        return requests.ConnectionError(exc)
    if isinstance(exc, u3.ConnectTimeoutError):
        return requests.ConnectTimeout(exc)
    if isinstance(exc, u3.ReadTimeoutError):
        return requests.ReadTimeout(exc)
    if isinstance(exc, u3.SSLError):
        return requests.exceptions.SSLError(exc)
    if isinstance(exc, u3.ProtocolError):
        return requests.ConnectionError(exc)
    return requests.RequestException(exc)
