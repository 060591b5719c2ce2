"""Application factory."""
from __future__ import annotations

import logging

from flask import Flask, g

from wx_member.config import Config
from wx_member.extensions import build_runtime


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["wx_member"] = rt = build_runtime(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    @app.before_request
    def _open_session():
        g.db = rt.sessions()

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()  # rolls back anything a service left open; never commits

    from wx_member.web import api, health, pay, webhook

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pay.bp)
    api.register(app)  # /api/: the mini-program member API and its OpenAPI document
    return app
