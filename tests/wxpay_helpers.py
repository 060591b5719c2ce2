"""Fixtures for WeChat Pay's merchant API (issue 14): the app configured as a merchant
(private key file, certificate serial, APIv3 key, the mini-program's appid) against the
sandbox's /v3/..., which knows the merchant certificate. Import the fixtures you use."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from conftest import APPID, MCH_ID, make_config, serve
from wx_member.sandbox.pay import PlatformCert, make_platform_cert

MINI_APPID = "wxmini0000000001"


@pytest.fixture(scope="session")
def merchant_cert() -> PlatformCert:
    """The merchant's API certificate and private key (apiclient_key.pem), RSA 2048."""
    return make_platform_cert("Sandbox Merchant 1900000109")


@dataclass
class Merchant:
    key_path: str
    apiv3_key: str
    cert: PlatformCert


def merchant_config(db_url, sandbox, merchant_cert, tmp_path, **extra):
    key = tmp_path / "apiclient_key.pem"
    key.write_bytes(merchant_cert.private_key_pem)
    apiv3 = secrets.token_hex(16)
    sandbox.merchant.enable(mch_id=MCH_ID, apiv3_key=apiv3,
                            merchant_cert_pem=merchant_cert.cert_pem,
                            appids=(APPID, MINI_APPID))
    return make_config(db_url, sandbox, mch_id=MCH_ID, mini_appid=MINI_APPID,
                       pay_api_key=secrets.token_hex(16), pay_apiv3_key=apiv3,
                       pay_private_key=str(key), pay_cert_serial=merchant_cert.serial,
                       pay_api_base=sandbox.url, **extra)


@pytest.fixture
def live_wxpay(db_url, sandbox, merchant_cert, tmp_path):
    """The app as a WeChat Pay merchant; its notify URL is its own /pay/v3/notify."""
    config = merchant_config(db_url, sandbox, merchant_cert, tmp_path)
    gen = serve(config)
    live = next(gen)
    # WXPAY_NOTIFY_URL is configuration; a test server's port is known only once it runs.
    live.rt.wxpay.notify_url = live.url + "pay/v3/notify"
    try:
        yield live
    finally:
        gen.close()
