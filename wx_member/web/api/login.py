"""POST /api/login: a wx.login() code for an access token."""
from __future__ import annotations

from flask import g

from wx_member.clock import from_timestamp
from wx_member.extensions import runtime
from wx_member.platform import access_tokens
from wx_member.members import miniapp
from wx_member.web.api.auth import secret_key
from wx_member.web.api.common import blueprint
from wx_member.web.api.errors import NotConfigured
from wx_member.web.api.limits import limiter, login_limit
from wx_member.web.api.schemas import LoginIn, LoginOut

bp = blueprint("login", __name__, "/api", "Log in: a wx.login() code for an access token",
               auth=None)


@bp.route("/login", methods=["POST"])
@bp.doc(security=[])
@bp.alt_response(429, description="too many logins from this address")
@limiter.limit(login_limit)
@bp.arguments(LoginIn)
@bp.response(200, LoginOut)
def login(body):
    """Log in with a wx.login() code; creates the member on first use."""
    rt = runtime()
    cfg = rt.config
    key = secret_key()
    if not (cfg.mini_appid and cfg.mini_secret):
        raise NotConfigured("WX_MINI_APPID / WX_MINI_SECRET are not set")
    result = miniapp.login(g.db, rt.gateway, body["code"], appid=cfg.mini_appid,
                           secret=cfg.mini_secret, scene=body.get("scene"))
    signed = access_tokens.issue_access(key, result.member.id, cfg.api_token_ttl)
    return {"token": signed.token, "expires_in": signed.ttl,
            "expires_at": from_timestamp(signed.expires_at),
            "card_no": result.member.card_no, "created": result.created}
