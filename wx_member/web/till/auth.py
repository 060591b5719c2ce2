"""Who is calling /till/v1: a till, by the key issued for it (`Authorization: Bearer
wxt_…`). A `before_request` hook of every till blueprint, so no route can forget it."""
from __future__ import annotations

from flask import g, request

from wx_member.clock import utcnow
from wx_member.payments import till_keys
from wx_member.payments.till_keys import TillUnauthorized


def till_required() -> None:
    """before_request: a valid key of an open store → g.till (refusals: 401 for a missing,
    unknown or revoked key, 403 for a closed store). The key's last use is written at most
    once a minute (`Till.needs_touch`)."""
    if request.method == "OPTIONS":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TillUnauthorized("no bearer key", user_message="缺少收银台密钥（Authorization: Bearer …）。")
    till = till_keys.authenticate(g.db, token.strip())
    now = utcnow()
    if till.needs_touch(now):
        till_keys.touch(g.db, till, now)
    g.till = till
    g.till_store = till  # its store_id, store_code, store_name
