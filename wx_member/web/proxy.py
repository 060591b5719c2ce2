"""X-Forwarded-For believed only from the proxies in WX_FORWARDED_ALLOW_IPS.

Behind nginx every request comes from nginx's address, so rate limits (web/api/limits.py)
and the console's login attempts would count every client as one. nginx appends the real
peer to X-Forwarded-For; werkzeug's ProxyFix then makes it `request.remote_addr`. But
anyone can send the header: only when the direct peer is a trusted proxy is ProxyFix
applied (the last hop, the one the proxy added); from anyone else the header is ignored.
"""
from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxyFix:
    """WSGI middleware: ProxyFix (one hop of X-Forwarded-For and -Proto) for requests whose
    direct peer is in `allow`, the request untouched otherwise."""

    def __init__(self, app, allow: tuple[str, ...]):
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)
        self.any = "*" in allow
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allow if a != "*"]

    def trusted(self, peer: str | None) -> bool:
        if self.any:
            return True
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def __call__(self, environ, start_response):
        if self.trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
