"""Application factory."""
from __future__ import annotations

from flask import Flask, g
from flask.ctx import _AppCtxGlobals
from werkzeug.exceptions import HTTPException

from wx_member import logs, migrate
from wx_member.config import Config
from wx_member.extensions import build_runtime, runtime


class _Globals(_AppCtxGlobals):
    """Flask's `g`, whose `g.db` (the request's unit of work, a session of the runtime's
    factory) is made on first use: a request that never touches the database (health
    checks, metrics, static files) opens none; teardown closes the one that was made."""

    def __getattr__(self, name: str):
        if name != "db":
            return super().__getattr__(name)
        db = self.__dict__["db"] = runtime().sessions()
        return db


def create_app(config: Config | None = None) -> Flask:
    """Raises migrate.SchemaNotReady (one line: run `wx-member db upgrade`) when the
    database lacks this code's schema, rather than failing on every request."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["wx_member"] = rt = build_runtime(config)
    logs.configure()
    try:
        migrate.require_schema(rt.engine)
    except migrate.SchemaNotReady:
        rt.dispose()
        raise
    from wx_member.web import admin, api, errors, health, observability, pay, shop, till, webhook

    observability.init_app(app)  # request ids and metrics first: they wrap everything else

    app.app_ctx_globals_class = _Globals

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()  # rolls back anything a service left open; never commits

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pay.bp)
    app.register_blueprint(shop.bp)
    documented = api.register(app)  # /api/: the mini-program member API and its OpenAPI document
    till.register(documented)  # /till/v1/: the tills' API, in the same document
    admin.init_app(app)  # the operator console: blueprint, CSRF, session cookie
    # JSON errors under the JSON surfaces (/api, /shop, /till), Flask's pages elsewhere.
    app.register_error_handler(HTTPException, errors.http_error)
    # The client's address from a trusted proxy's X-Forwarded-For only (web/proxy.py).
    from wx_member.web.proxy import TrustedProxyFix
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, config.forwarded_allow_ips)
    return app
