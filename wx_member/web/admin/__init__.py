"""The operator console under /admin: Chinese pages for operators in a browser.

`blueprint` holds the blueprint and the checks every request passes (secret key, CSRF,
login, role) and the console's one mapping of refusals; each other module adds the routes
of one page group to it. Routes parse the form, call one use case and render.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

# Each module adds its routes to `bp` when imported.
from wx_member.web.admin import (  # noqa: F401
    auth, campaigns, channels, coupons, dashboard, earn_rules, gifts, jobs, members, menus, rules,
    stored_value, stores)
from wx_member.web.admin import benefits, tag_rules  # noqa: F401  (会员权益, 偏好标签)
from wx_member.web.admin import calendar  # noqa: F401  (会员日历, issue 18)
from wx_member.web.admin import tiers  # noqa: F401  (会员等级, issue 18)
from wx_member.web.admin import member_edits  # noqa: F401  (姓名, 储值更正)
from wx_member.web.admin import mass  # noqa: F401  (群发: WeChat tags, sends to a tag)
from wx_member.web.admin import member_cash_offs  # noqa: F401  (积分抵现的撤销)
from wx_member.web import errors
from wx_member.web.admin.blueprint import bp, csrf, http_error_page


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, its serializer made once per key rather than on
    every request (the webhook's and the API's too, which never use it: a fiftieth of
    a join)."""
    _made: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._made is None or self._made[0] != keys:
            self._made = (keys, super().get_signing_serializer(app))
        return self._made[1]


def init_app(app: Flask) -> None:
    cfg = app.extensions["wx_member"].config
    app.config.update(
        SECRET_KEY=cfg.secret_key or None,
        SESSION_COOKIE_NAME="wxm_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _guard for /admin only: webhooks have none
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (8-hour) session
    )
    app.session_interface = _SessionCookies()
    csrf.init_app(app)
    app.register_blueprint(bp)
    errors.PAGES[bp.url_prefix + "/"] = http_error_page

from wx_member.web.admin import paid_memberships  # noqa: E402,F401  (付费会员 refunds, issue 14)
