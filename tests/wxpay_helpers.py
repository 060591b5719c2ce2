"""Fixtures for WeChat Pay's merchant API (issue 14): the app configured as a merchant
(private key file, certificate serial, APIv3 key) and for the mini-program API, against the
sandbox's /v3/..., which knows the merchant certificate and posts notifies to the app.
Import the fixtures you use."""
from __future__ import annotations

import secrets

import pytest

from api_helpers import MINI_APPID, ApiClient, Member, api_config, mini_sandbox  # noqa: F401
from conftest import APPID, MCH_ID, make_config, serve
from wx_member import scheduler
from wx_member.sandbox.pay import PlatformCert, make_platform_cert

__all__ = ["MINI_APPID", "merchant_cert", "merchant_config", "live_shop", "console_shop", "shop", "Member",
           "mini_sandbox"]


@pytest.fixture(scope="session")
def merchant_cert() -> PlatformCert:
    """The merchant's API certificate and private key (apiclient_key.pem), RSA 2048."""
    return make_platform_cert("Sandbox Merchant 1900000109")


def merchant_settings(sandbox, merchant_cert, tmp_path) -> dict:
    key = tmp_path / "apiclient_key.pem"
    key.write_bytes(merchant_cert.private_key_pem)
    apiv3 = secrets.token_hex(16)
    sandbox.merchant.enable(mch_id=MCH_ID, apiv3_key=apiv3,
                            merchant_cert_pem=merchant_cert.cert_pem,
                            appids=(APPID, MINI_APPID))
    return dict(mch_id=MCH_ID, mini_appid=MINI_APPID, pay_api_key=secrets.token_hex(16),
                pay_apiv3_key=apiv3, pay_private_key=str(key),
                pay_cert_serial=merchant_cert.serial, pay_api_base=sandbox.url,
                pay_notify_url="https://shop.example.com/pay/v3/notify")


def merchant_config(db_url, sandbox, merchant_cert, tmp_path, **extra):
    return make_config(db_url, sandbox, **merchant_settings(sandbox, merchant_cert, tmp_path),
                       **extra)


@pytest.fixture
def live_shop(db_url, mini_sandbox, merchant_cert, tmp_path):
    """The app as a WeChat Pay merchant with the mini-program API; notifies reach its own
    /pay/v3/notify."""
    gen = serve(api_config(db_url, mini_sandbox, pay_rate_limit="1000/minute",  # tests pay a lot
                           **merchant_settings(mini_sandbox, merchant_cert, tmp_path)))
    live = next(gen)
    # WXPAY_NOTIFY_URL is configuration; a test server's port is known only once it runs.
    live.rt.wxpay.notify_url = live.url + "pay/v3/notify"
    try:
        yield live
    finally:
        gen.close()


@pytest.fixture
def console_shop(db_url, mini_sandbox, merchant_cert, tmp_path):  # noqa: F811
    """live_shop with the console too (plain HTTP cookies, so a browserless client logs in)."""
    gen = serve(api_config(db_url, mini_sandbox, cookie_secure=False,
                           **merchant_settings(mini_sandbox, merchant_cert, tmp_path)))
    live = next(gen)
    live.rt.wxpay.notify_url = live.url + "pay/v3/notify"
    try:
        yield live
    finally:
        gen.close()


@pytest.fixture
def shop(live_shop, mini_sandbox) -> ApiClient:
    return ApiClient(live_shop, mini_sandbox)


def run_job(live, job) -> None:
    """One of wx_member.scheduler's jobs, once, on this live app."""
    scheduler._RUNTIME = live.rt  # as the leading scheduler process holds it
    try:
        job()
    finally:
        scheduler._RUNTIME = None


def run_reconciliation(live) -> None:
    run_job(live, scheduler.reconcile_payments_job)
