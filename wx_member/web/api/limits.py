"""Rate limits (Flask-Limiter): login per client address; redeeming points per member
(`per_member`).

Counts live in Redis when REDIS_URL is set, so every worker and host shares them; without
it each process counts in its own memory, and N gunicorn workers allow up to N times the
limit. Moving windows: a burst at a minute's boundary gets no double allowance.
"""
from __future__ import annotations

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from wx_member.extensions import runtime

# One Limiter object; init_app gives it the app's storage (tests make many apps in one
# process: each init_app starts with fresh counts).
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")


def login_limit() -> str:
    return runtime().config.login_rate_limit


def redeem_limit() -> str:
    return runtime().config.redeem_rate_limit


def per_member() -> str:
    """Key function for limits on a member's own actions (after member_required)."""
    return f"member:{g.get('member_id') or get_remote_address()}"


def init(app: Flask) -> None:
    redis_url = app.extensions["wx_member"].config.redis_url
    app.config["RATELIMIT_STORAGE_URI"] = redis_url or "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
