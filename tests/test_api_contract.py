"""The OpenAPI document is generated from the code and the live API keeps to it:
schemathesis generates requests for every operation from /api/openapi.json and checks each
answer (no 5xx, status codes, content types and bodies as documented), with a valid member
token and cashier key so that generated inputs reach the services, not only the auth."""
from __future__ import annotations

import itertools

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from api_helpers import (CASHIER_KEY, add_gift, api, api_config, give_points,  # noqa: F401
                         mini_sandbox)
from conftest import serve
from wxpay_helpers import merchant_cert, merchant_settings  # noqa: F401

# positive_data_acceptance is left out: the document gives shapes, and a well-shaped input
# can still be refused by the rules with a 4xx (a login code WeChat never issued, a
# birthday in the future, a member code already expired). Every other check runs,
# negative_data_rejection included: ill-shaped input must get a 4xx.
EXAMPLES = 30  # per operation, mode and backend: about 1,300 requests, a few seconds


@pytest.fixture
def live_api(db_url, mini_sandbox, merchant_cert, tmp_path):  # noqa: F811
    """The API with a redeem limit no generated run reaches, so that redemption inputs are
    judged by the rules, not all answered 429 after the tenth; a WeChat Pay merchant, so
    that recharges reach WeChat Pay (the sandbox) rather than answer 503."""
    yield from serve(api_config(db_url, mini_sandbox, redeem_rate_limit="3000/minute",
                                pay_rate_limit="3000/minute",
                                # the database storage keeps up to 3,000
                                **merchant_settings(mini_sandbox, merchant_cert, tmp_path)))


def test_every_operation_keeps_to_the_document(api, live_api):
    # Driven by hand rather than schemathesis' pytest loader, which does not run on pytest 9.
    schema = schemathesis.openapi.from_url(live_api.url + "api/openapi.json")
    me = api.login("oContract")
    token = me.token
    # Something for generated inputs to find: gifts 1 and 2 (hypothesis tries small ids
    # often), points to spend on them.
    add_gift(live_api, "贴纸", 1, 5)
    add_gift(live_api, "会员马克杯", 50, 1)
    give_points(live_api, me.card_no, 90, "contract")
    headers = {"Authorization": f"Bearer {token}", "X-Cashier-Key": CASHIER_KEY}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 21

    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def check(case):
            # Negative cases may drop a credential on purpose: then it stays dropped.
            given_headers = headers if mode is GenerationMode.POSITIVE else {
                k: v for k, v in headers.items() if k in (case.headers or {})}
            case.call_and_validate(headers=given_headers,
                                   excluded_checks=[positive_data_acceptance])

        check()


def test_document_and_docs_are_served_without_a_cdn(live_api):
    base = live_api.url + "api/"
    doc = requests.get(base + "openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/login", "/api/me/card", "/api/me/points", "/api/me/tiers", "/api/me/profile",
            "/api/me/profile/birthday", "/api/me/profile/phone", "/api/me/profile/name",
            "/api/me/referral/code", "/api/me/referral/results", "/api/me/subscriptions", "/api/me/member-code",
            "/api/cashier/resolve", "/api/me/coupons", "/api/me/coupons/{code}", "/api/gifts",
            "/api/me/redemptions", "/api/me/redemptions/{redemption_id}", "/api/me/balance",
            "/api/recharge/options", "/api/cashier/cash-off",
            "/api/cashier/coupons/redeem"} <= set(doc["paths"])
    redeem = doc["paths"]["/api/me/redemptions"]["post"]
    assert [(p["in"], p["name"], p["required"]) for p in redeem["parameters"]] == [
        ("header", "Idempotency-Key", True)]
    assert "429" in redeem["responses"]
    assert doc["paths"]["/api/login"]["post"]["security"] == []
    for till in ("resolve", "cash-off", "coupons/redeem"):
        assert doc["paths"][f"/api/cashier/{till}"]["post"]["security"] == [{"cashier": []}]
    assert doc["security"] == [{"member": []}]
    page = requests.get(base + "docs", timeout=10)
    assert page.status_code == 200 and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/assets/{asset}" in page.text
        assert requests.get(base + "docs/assets/" + asset, timeout=10).status_code == 200
