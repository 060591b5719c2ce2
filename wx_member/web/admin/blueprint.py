"""The console's blueprint and what every /admin request passes through.

Every request passes `_guard`: the console must have a secret key, every POST carries a
valid CSRF token (Flask-WTF), every page but the login needs a logged-in operator, and a
POST needs at least the `operator` role (viewers only read); routes that need more say so
with `requires("admin")`. Routes parse the form, call one service and render.

Store-scoped accounts (店长, 店员: `operator.store_id` set) reach only STORE_ENDPOINTS, and
those pass `scope()` (their store) to the use cases, which narrow their queries to it: a
page built later is headquarters-only until it is listed here and scoped.

A refusal (a domain error) is shown in Chinese, never as a 500: a route that re-renders its
form with the message catches it itself; any other reaches `_refused`, the console's one
mapping (a POST flashes the message and returns to its page, a GET shows the error page).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_wtf.csrf import CSRFError, CSRFProtect

from wx_member import labels
from wx_member.clock import local_text
from wx_member.extensions import runtime
from wx_member.labels import tier_name
from wx_member.console import operators
from wx_member.platform.errors import DomainError
from wx_member.web.admin import words
from wx_member.web.errors import status_of

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()

PUBLIC = {"admin.login", "admin.static"}
# What a store-scoped account may open; each of these scopes its queries by `scope()`.
STORE_ENDPOINTS = {"admin.dashboard", "admin.member_search", "admin.member_detail",
                   "admin.member_adjust", "admin.member_tag", "admin.member_export",
                   "admin.member_name", "admin.member_balance",
                   "admin.channel_list", "admin.channel_qrcode", "admin.store_list",
                   "admin.store_detail", "admin.till_key_issue", "admin.till_key_revoke",
                   "admin.coupon_list", "admin.logout"}
ANY_ROLE_POSTS = {"admin.logout"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Forms that may carry more than the app's 1 MB (MAX_CONTENT_LENGTH), by endpoint: the
# body's limit, and what a larger body is told (the 413 page). Set by the route's module.
BODY_LIMITS: dict[str, tuple[int, str]] = {}
# No external resources: scripts and styles come from /admin/static only; charts are SVG.
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@bp.before_request
def _guard():
    if not runtime().config.secret_key:
        return render_template("admin/disabled.html"), 503
    if request.endpoint in BODY_LIMITS:  # before the CSRF check reads the form
        request.max_content_length = BODY_LIMITS[request.endpoint][0]
    if request.method not in SAFE_METHODS:
        csrf.protect()
    op_id, generation = session.get("op"), session.get("gen")
    g.operator = (operators.current(g.db, op_id, generation)
                  if isinstance(op_id, int) and isinstance(generation, int) else None)
    if request.endpoint in PUBLIC:
        return None
    if g.operator is None:
        session.clear()
        return redirect(url_for("admin.login", next=request.full_path
                                if request.method == "GET" else None))
    if (request.method not in SAFE_METHODS and request.endpoint not in ANY_ROLE_POSTS
            and not operators.role_at_least(g.operator.role, "operator")):
        return forbidden()
    if g.operator.store_id is not None and request.endpoint not in STORE_ENDPOINTS:
        return forbidden()
    return None


def scope() -> int | None:
    """The store a store-scoped operator sees (None: headquarters, everything)."""
    return g.operator.store_id


def store_filter() -> int | None:
    """The store a page shows: a store-scoped operator's own, whatever the query says;
    for headquarters the `store` query argument (a store id), if any."""
    if g.operator.store_id is not None:
        return g.operator.store_id
    value = request.args.get("store", "")
    return int(value) if value.isdigit() else None


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return render_template("admin/error.html", title="请求无效",
                           message="页面已过期或缺少安全令牌（CSRF），请刷新页面后重试。"), 400


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    log.info("console %s %s refused: %s %s", request.method, request.path, exc.code, exc)
    if request.method in SAFE_METHODS:
        return render_template("admin/error.html", title="操作未完成",
                               message=exc.user_message), status_of(exc)
    flash(exc.user_message, "error")
    return redirect(_back())


def _back() -> str:
    """The console page a form was posted from (same host only), else the dashboard."""
    ref = urlsplit(request.referrer or "")
    if ref.netloc == request.host and ref.path.startswith(bp.url_prefix + "/"):
        return ref.path + (f"?{ref.query}" if ref.query else "")
    return url_for("admin.dashboard")


def forbidden():
    return render_template("admin/error.html", title="没有权限",
                           message="您的账号角色无权执行此操作。"), 403


def can(role: str) -> bool:
    return g.get("operator") is not None and operators.role_at_least(g.operator.role, role)


def may(endpoint: str, role: str = "operator") -> bool:
    """Whether the operator's post to `endpoint` would be let through: the role, and for a
    store-scoped account the endpoint among STORE_ENDPOINTS (the gate above). Pages show a
    form only when it may be used."""
    return can(role) and (g.operator.store_id is None or endpoint in STORE_ENDPOINTS)


NAV = [("admin.member_search", "会员"), ("admin.channel_list", "渠道码"), ("admin.store_list", "门店"),
       ("admin.menu_edit", "自定义菜单"), ("admin.rules", "规则"), ("admin.tiers_page", "会员等级"),
       ("admin.campaigns_page", "活动"), ("admin.mass_page", "群发"),
       ("admin.coupon_list", "优惠券"), ("admin.gift_list", "积分兑换"),
       ("admin.stored_value_page", "储值"),
       ("admin.memberships_page", "付费会员"), ("admin.earn_rules_page", "积分活动"),
       ("admin.jobs_page", "推送与任务"), ("admin.audit_list", "审计日志")]
# Headquarters' pages for the till's benefits and the preference tags (not STORE_ENDPOINTS).
NAV[-1:-1] = [("admin.benefits_page", "会员权益"), ("admin.calendar_page", "会员日历"),
              ("admin.tag_rules_page", "偏好标签")]


@bp.app_template_filter("localtime")
def _localtime(at, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Every time the console shows: the programme's wall clock (the zone is said once per
    page, at its foot)."""
    return local_text(at, runtime().config.tz, fmt)


def http_error_page(exc):
    """An HTTP error under /admin as the console's Chinese error page (web/errors.py
    sends /admin here)."""
    status = getattr(exc, "code", None) or 500
    title, message = labels.CONSOLE_HTTP_ERRORS.get(status, ("请求未完成", "请求未完成，请稍后再试。"))
    if status == 413 and request.endpoint in BODY_LIMITS:
        message = BODY_LIMITS[request.endpoint][1]
    return render_template("admin/error.html", title=title, message=message), status


@bp.context_processor
def _context():
    links = [(e, label) for e, label in NAV if e in current_app.view_functions
             and (g.get("operator") is None or g.operator.store_id is None
                  or e in STORE_ENDPOINTS)]
    return {"can": can, "may": may, "zone": runtime().config.tz.key,
            "roles_zh": labels.OPERATOR_ROLES, "nav_links": links,
            "tier_name": tier_name, "actions_zh": labels.AUDIT_ACTIONS,
            "order_status": labels.ORDER_STATUS, "delivery_status": labels.DELIVERY_STATUS,
            "coupon_status": labels.COUPON_STATUS, "template_state": labels.TEMPLATE_STATE,
            "tier_reasons": labels.TIER_REASONS,
            "store_status": labels.STORE_STATUS,
            "change_lines": words.change_lines, "target_text": words.target_text,
            "kind_name": words.kind_name, "reason_text": words.reason_text,
            "occasion_text": words.occasion_text,
            "yuan": words.yuan, "push_channels": labels.PUSH_CHANNELS}
