"""The merchant side of WeChat Pay API v3 (wechat/pay_client.py) against the sandbox over
HTTP: requests signed WECHATPAY2-SHA256-RSA2048 and checked by the sandbox with the merchant
certificate, answers verified with platform certificates downloaded from /v3/certificates
(several at once during a rotation) or the WeChat Pay public key; the private key never
appears in logs or errors."""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from wx_member.sandbox.pay import make_platform_cert
from wx_member.wechat.pay_client import PayApiError, WeChatPayClient
from wxpay_helpers import MINI_APPID, merchant_cert, merchant_config  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client(sandbox, merchant_cert, tmp_path) -> WeChatPayClient:  # noqa: F811
    config = merchant_config("sqlite://", sandbox, merchant_cert, tmp_path)
    return WeChatPayClient(config)


def order(client: WeChatPayClient, no: str, total: int = 100) -> str:
    return client.jsapi(appid=MINI_APPID, description="储值充值", out_trade_no=no,
                        total_fen=total, openid="oMini1", attach="recharge")


def test_a_signed_order_is_created_queried_and_closed(client, sandbox):
    prepay = order(client, "CL000001", 50000)
    assert prepay.startswith("wx")
    assert order(client, "CL000001", 50000) == prepay  # the same order again: same prepay_id
    t = client.query("CL000001")
    assert (t.trade_state, t.openid, t.appid, t.attach) == ("NOTPAY", "oMini1", MINI_APPID,
                                                            "recharge")
    client.close("CL000001")
    assert client.query("CL000001").trade_state == "CLOSED"
    with pytest.raises(PayApiError) as closed:
        order(client, "CL000001", 50000)
    assert (closed.value.wx_code, closed.value.code) == ("ORDER_CLOSED", "ORDER_CLOSED")
    assert closed.value.user_message == "该订单已关闭，请重新下单。"
    assert client.keys.serials() == [sandbox.merchant.signer.serial]


def test_wx_request_payment_parameters_are_signed_by_the_merchant(client, merchant_cert):  # noqa: F811
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    params = client.request_payment(MINI_APPID, "wx123")
    assert params["package"] == "prepay_id=wx123" and params["signType"] == "RSA"
    message = f"{MINI_APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    x509.load_pem_x509_certificate(merchant_cert.cert_pem).public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(),
        hashes.SHA256())


def test_a_request_signed_by_another_key_gets_sign_error(sandbox, merchant_cert, tmp_path):  # noqa: F811
    config = merchant_config("sqlite://", sandbox, merchant_cert, tmp_path)
    other = tmp_path / "other_key.pem"
    other.write_bytes(make_platform_cert().private_key_pem)
    impostor = WeChatPayClient(config.with_(pay_private_key=str(other)))
    with pytest.raises(PayApiError) as refused:
        order(impostor, "CL000002")
    assert (refused.value.http_status, refused.value.wx_code) == (401, "SIGN_ERROR")
    assert "CL000002" not in sandbox.merchant.orders


def test_an_answer_signed_by_a_stranger_is_not_believed(client, sandbox):
    order(client, "CL000003")
    sandbox.merchant.signer = make_platform_cert()  # not listed in /v3/certificates
    with pytest.raises(PayApiError) as forged:
        client.query("CL000003")
    assert "not authentic" in str(forged.value)


def test_rotation_keeps_old_and_new_certificates(client, sandbox):
    order(client, "CL000004")
    old = sandbox.merchant.signer.serial
    new = sandbox.merchant.rotate().serial
    assert client.query("CL000004").trade_state == "NOTPAY"  # an unknown serial: refetched
    assert client.keys.serials() == sorted([old, new])
    sandbox.merchant.signer = sandbox.merchant.platforms[0]  # an answer signed by the old one
    assert client.query("CL000004").trade_state == "NOTPAY"


def test_certificates_are_refreshed_before_they_expire(client, sandbox, monkeypatch):
    from wx_member.wechat import pay_keys

    order(client, "CL000005")
    fetches = []
    real = client.keys._fetch
    client.keys._fetch = lambda: fetches.append(1) or real()
    client.keys._clock = lambda: pay_keys.time.time() + pay_keys.REFRESH_EVERY + 1
    client.query("CL000005")
    assert fetches == [1]


def test_public_key_mode(sandbox, merchant_cert, tmp_path):  # noqa: F811
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    config = merchant_config("sqlite://", sandbox, merchant_cert, tmp_path)
    signer = sandbox.merchant.use_public_key("PUB_KEY_ID_0114232134912410000000000000")
    pub = tmp_path / "pub_key.pem"
    pub.write_bytes(x509.load_pem_x509_certificate(signer.cert_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    client = WeChatPayClient(config.with_(pay_public_key=str(pub),
                                          pay_public_key_id=signer.serial))
    order(client, "CL000006")
    assert client.query("CL000006").trade_state == "NOTPAY"
    assert "/v3/certificates" not in [p for _, p in sandbox.merchant.calls]


def test_the_private_key_never_appears_in_logs_errors_or_reprs(sandbox, merchant_cert,  # noqa: F811
                                                               tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    config = merchant_config("sqlite://", sandbox, merchant_cert, tmp_path)
    client = WeChatPayClient(config)
    secret_lines = [line for line in merchant_cert.private_key_pem.decode().splitlines()
                    if "PRIVATE KEY" not in line]
    texts = [repr(client), repr(client._key), repr(config)]
    for code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED", "SIGN_ERROR"):
        sandbox.merchant.fail_next("jsapi", 500, code)
        with pytest.raises(PayApiError) as failed:
            order(client, "CL000007")
        texts += [str(failed.value), failed.value.user_message, repr(failed.value)]
    broken = tmp_path / "broken_key.pem"
    broken.write_text(merchant_cert.private_key_pem.decode()[:-80])
    with pytest.raises(ValueError) as unreadable:
        WeChatPayClient(config.with_(pay_private_key=str(broken)))
    texts += [str(unreadable.value), caplog.text]
    assert not [line for line in secret_lines for text in texts if line in text]


def test_no_private_key_is_committed():
    tracked = subprocess.run(["git", "grep", "-l", "-I", "-E", "BEGIN (RSA |EC )?PRIVATE KEY"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert [p for p in tracked if not p.startswith("tests/")] == []


def test_simulate_pay_from_the_command_line(client, sandbox):
    from click.testing import CliRunner

    from wx_member.sandbox.commands import simulate_group

    order(client, "CL000010")
    order(client, "CL000011")
    runner = CliRunner()
    lost = runner.invoke(simulate_group, ["pay", "CL000010", "--sandbox", sandbox.url,
                                          "--no-notify"])
    assert lost.exit_code == 0 and "notify withheld" in lost.output
    failed = runner.invoke(simulate_group, ["pay", "CL000011", "--sandbox", sandbox.url,
                                            "--fail"])
    assert failed.exit_code == 0 and "payment failed" in failed.output
    assert [client.query(n).trade_state for n in ("CL000010", "CL000011")] == ["SUCCESS",
                                                                              "PAYERROR"]
    again = runner.invoke(simulate_group, ["pay", "CL000010", "--sandbox", sandbox.url])
    assert again.exit_code == 1 and "not NOTPAY" in again.output
    unknown = runner.invoke(simulate_group, ["pay", "NOSUCHORDER", "--sandbox", sandbox.url])
    assert unknown.exit_code == 1


def test_webhook_simulation_still_needs_a_token():
    from click.testing import CliRunner

    from wx_member.sandbox.commands import simulate_group

    result = CliRunner().invoke(simulate_group, ["subscribe", "oX"], env={"WX_TOKEN": ""})
    assert result.exit_code == 2 and "--token" in result.output
