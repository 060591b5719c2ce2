"""/api/: the mini-program's member API, JSON, documented by an OpenAPI 3 document that
flask-smorest generates from the routes and marshmallow schemas (/api/openapi.json), with
Swagger UI at /api/docs served from the swagger-ui-bundle package (no CDN).

Modules: login (code → token), card (card, points, tiers), profile, referrals,
subscriptions, coupons, redemptions (gifts for points), balance (stored value, recharge
options), cashier (member code; the till's resolve, cash-off and coupon use), recharges
(WeChat Pay orders for stored value, their status, cancelling), store_payments and
store_pay (到店买单: stores, the quote, paying a store). A new endpoint is one route
function in one of them (or a new module added to BLUEPRINTS) calling one service.
"""
from __future__ import annotations

from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from wx_member.web.api import (balance, cashier, card, coupons, gift_images, limits, login,
                               profile, recharges, redemptions, referrals, store_pay,
                               store_payments, subscriptions)
from wx_member.web.api.errors import ErrorSchema

BLUEPRINTS = (login.bp, card.bp, profile.bp, referrals.bp, subscriptions.bp, coupons.bp,
              redemptions.bp, balance.bp, cashier.member_bp, cashier.cashier_bp, recharges.bp,
              store_payments.bp, store_pay.bp)
DOCS_ASSETS = "/api/docs/assets/"

SECURITY_SCHEMES = {
    "member": {"type": "http", "scheme": "bearer",
               "description": "the token from POST /api/login"},
    "cashier": {"type": "apiKey", "in": "header", "name": "X-Cashier-Key",
                "description": "the shared secret WX_CASHIER_API_KEY (deprecated: /till/v1)"},
    "till": {"type": "http", "scheme": "bearer",
             "description": "a till key of one store (wx-member stores key issue)"},
}

assets = Blueprint("api_docs_assets", __name__)


@assets.get(DOCS_ASSETS + "<path:filename>")
def docs_asset(filename: str):
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


class _Api(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """flask-smorest would make every HTTP error of the app JSON; web.errors.http_error
        (registered by the app factory) does that for the JSON surfaces only, so the
        webhook and Pay surfaces keep their answers."""


def register(app: Flask) -> Api:
    """The API extension and /api's blueprints; the app factory registers /till/v1's on
    the returned Api too, so one OpenAPI document holds both."""
    app.config.update(
        API_TITLE="wx-member mini-program API", API_VERSION="1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        API_SPEC_OPTIONS={
            "security": [{"member": []}],  # the default; login and cashier override it
            "components": {"securitySchemes": SECURITY_SCHEMES},
            "info": {"description": "Errors: {code, message (Chinese), errors?}; see README."},
        })
    api = _Api(app)
    limits.init(app)
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
    app.register_blueprint(assets)
    app.register_blueprint(gift_images.bp)  # public: <image> sends no token
    return api
