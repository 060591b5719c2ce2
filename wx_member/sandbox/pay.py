"""`PayNotifier`: posts WeChat Pay notifies to the app as WeChat Pay's servers do.

v2 payment notifies are signed with wechatpy's own MD5 / HMAC-SHA256 helpers; v2 refund
`req_info` (AES-256-ECB, PKCS#7 on 16-byte blocks as WeChat Pay pads it) and v3 notifies are
encrypted and signed here with `cryptography`: none of it shares code with the app's decoder
(wx_member/wechat/pay_v2.py, pay_v3.py), so a mistake on one side shows up as a refused notify.

`make_platform_cert()` makes the RSA key and self-signed certificate that stand in for
WeChat Pay's platform certificate: the notifier signs with the key, the app verifies with
the certificate (WXPAY_PLATFORM_CERT).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import defusedxml.ElementTree as SafeET
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as block_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from wechatpy.pay.utils import (
    calculate_signature,
    calculate_signature_hmac,
    dict_to_xml,
)

BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class PlatformCert:
    private_key_pem: bytes
    cert_pem: bytes
    serial: str  # upper-case hex, as in Wechatpay-Serial


def make_platform_cert(common_name: str = "Sandbox WeChat Pay Platform") -> PlatformCert:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return PlatformCert(
        private_key_pem=key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        serial=format(cert.serial_number, "X"))


@dataclass(frozen=True)
class PayResult:
    status: int
    body: str  # the app's answer
    path: str
    sent: bytes  # the request body, for replays
    headers: dict = field(default_factory=dict)  # the request headers (v3 signature)

    @property
    def return_code(self) -> str | None:
        """v2 answers: SUCCESS or FAIL (None if the answer is not WeChat Pay's XML)."""
        try:
            return SafeET.fromstring(self.body).findtext("return_code")
        except SafeET.ParseError:
            return None

    @property
    def ok(self) -> bool:
        return self.status in (200, 204) and (self.status == 204 or self.return_code == "SUCCESS")


def _nonce() -> str:
    return secrets.token_hex(16)


def _tx_id() -> str:
    return "4200" + "".join(str(secrets.randbelow(10)) for _ in range(24))


class PayNotifier:
    def __init__(self, base_url: str, appid: str, mch_id: str, api_key: str = "",
                 apiv3_key: str = "", platform_private_key: bytes | None = None,
                 platform_serial: str = "", session: requests.Session | None = None,
                 timeout: float = 10.0):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.appid, self.mch_id = appid, mch_id
        self.api_key, self.apiv3_key = api_key, apiv3_key
        self.private_key = (serialization.load_pem_private_key(platform_private_key, None)
                            if platform_private_key else None)
        self.serial = platform_serial
        self.http = session or requests.Session()
        self.timeout = timeout

    # ---- transport -----------------------------------------------------------------------

    def post(self, path: str, body: bytes, headers: dict | None = None) -> PayResult:
        headers = dict(headers or {})
        res = self.http.post(self.base_url + path, data=body, headers=headers,
                             timeout=self.timeout)
        return PayResult(res.status_code, res.content.decode("utf-8", "replace"), path, body,
                         headers)

    def replay(self, result: PayResult) -> PayResult:
        """WeChat Pay's retry: the very same request again."""
        return self.post(result.path, result.sent, result.headers)

    # ---- v2 ------------------------------------------------------------------------------

    def v2_payment_xml(self, openid: str, out_trade_no: str, total_fee: int | str, *,
                       sign_type: str = "MD5", sign: str | None = None, attach: str = "",
                       **overrides: str | int | None) -> bytes:
        """A signed payment notify; `attach` is the merchant's tag from the order (sent
        only when non-empty, as WeChat Pay does; "recharge" for stored value), `overrides`
        change fields before signing (None drops one), `sign` replaces the signature."""
        fields: dict = {
            "return_code": "SUCCESS", "result_code": "SUCCESS", "appid": self.appid,
            "mch_id": self.mch_id, "nonce_str": _nonce(), "openid": openid,
            "is_subscribe": "Y", "trade_type": "JSAPI", "bank_type": "CMC", "fee_type": "CNY",
            "total_fee": str(total_fee), "cash_fee": str(total_fee), "out_trade_no": out_trade_no,
            "transaction_id": _tx_id(), "time_end": datetime.now(BEIJING).strftime("%Y%m%d%H%M%S"),
        }
        if sign_type != "MD5":
            fields["sign_type"] = sign_type
        if attach:
            fields["attach"] = attach
        fields.update({k: str(v) for k, v in overrides.items() if v is not None})
        for k in [k for k, v in overrides.items() if v is None]:
            fields.pop(k, None)
        signer = calculate_signature_hmac if sign_type == "HMAC-SHA256" else calculate_signature
        return dict_to_xml(fields, sign or signer(fields, self.api_key)).encode("utf-8")

    def v2_payment(self, openid: str, out_trade_no: str, total_fee: int | str,
                   **kw) -> PayResult:
        return self.post("pay/notify", self.v2_payment_xml(openid, out_trade_no, total_fee, **kw),
                         {"Content-Type": "text/xml"})

    def v2_refund_xml(self, out_trade_no: str, out_refund_no: str, refund_fee: int,
                      total_fee: int, *, refund_status: str = "SUCCESS",
                      api_key: str | None = None, **overrides: str | int) -> bytes:
        info = {
            "out_refund_no": out_refund_no, "out_trade_no": out_trade_no,
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS", "refund_fee": str(refund_fee),
            "refund_id": "5000" + _tx_id()[4:], "refund_recv_accout": "支付用户零钱",
            "refund_request_source": "API", "refund_status": refund_status,
            "settlement_refund_fee": str(refund_fee), "settlement_total_fee": str(total_fee),
            "success_time": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "total_fee": str(total_fee), "transaction_id": _tx_id(),
        }
        plain = "<root>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>"
                                   for k, v in info.items()) + "</root>"
        key = hashlib.md5((api_key or self.api_key).encode()).hexdigest().encode()
        # Not wechatpy's RefundCrypto: it pads to 32-byte blocks (its OA message padding),
        # which a standard PKCS#7 unpadder refuses for about half of all plaintext lengths.
        padder = block_padding.PKCS7(128).padder()
        padded = padder.update(plain.encode("utf-8")) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        req_info = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
        outer = {"return_code": "SUCCESS", "appid": self.appid, "mch_id": self.mch_id,
                 "nonce_str": _nonce(), "req_info": req_info}
        outer.update({k: str(v) for k, v in overrides.items()})
        return dict_to_xml(outer).encode("utf-8")

    def v2_refund(self, out_trade_no: str, out_refund_no: str, refund_fee: int,
                  total_fee: int, **kw) -> PayResult:
        xml = self.v2_refund_xml(out_trade_no, out_refund_no, refund_fee, total_fee, **kw)
        return self.post("pay/refund-notify", xml, {"Content-Type": "text/xml"})

    # ---- v3 ------------------------------------------------------------------------------

    def v3_request(self, event_type: str, resource: dict, *, timestamp: int | None = None,
                   corrupt_ciphertext: bool = False,
                   apiv3_key: str | None = None) -> tuple[dict, bytes]:
        """Headers and body of a v3 notify: `resource` AES-256-GCM encrypted, the body
        signed with the platform key. `corrupt_ciphertext` flips a bit of the ciphertext
        *before* signing, so only the AEAD tag can catch it."""
        aad = "transaction" if event_type.startswith("TRANSACTION.") else "refund"
        nonce = secrets.token_hex(6)
        sealed = bytearray(AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), aad.encode()))
        if corrupt_ciphertext:
            sealed[0] ^= 1
        now = datetime.now(BEIJING).isoformat(timespec="seconds")
        body = json.dumps({
            "id": secrets.token_hex(18), "create_time": now, "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": "支付成功" if aad == "transaction" else "退款成功",
            "resource": {"original_type": aad, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(bytes(sealed)).decode(),
                         "associated_data": aad, "nonce": nonce},
        }, ensure_ascii=False).encode("utf-8")
        ts, sig_nonce = str(timestamp if timestamp is not None else int(time.time())), _nonce()
        signature = self.private_key.sign(f"{ts}\n{sig_nonce}\n".encode() + body + b"\n",
                                          padding.PKCS1v15(), hashes.SHA256())
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": ts,
                "Wechatpay-Nonce": sig_nonce, "Wechatpay-Serial": self.serial,
                "Wechatpay-Signature": base64.b64encode(signature).decode(),
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}, body

    def v3_notify(self, event_type: str, resource: dict, **kw) -> PayResult:
        headers, body = self.v3_request(event_type, resource, **kw)
        return self.post("pay/v3/notify", body, headers)

    def v3_payment_resource(self, openid: str, out_trade_no: str, total: int,
                            attach: str = "", **overrides) -> dict:
        resource = {
            "appid": self.appid, "mchid": self.mch_id, "out_trade_no": out_trade_no,
            "transaction_id": _tx_id(), "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功", "bank_type": "CMC", "attach": attach,
            "success_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "payer": {"openid": openid},
            "amount": {"total": total, "payer_total": total, "currency": "CNY",
                       "payer_currency": "CNY"},
        }
        resource.update(overrides)
        return resource

    def v3_payment(self, openid: str, out_trade_no: str, total: int, *, attach: str = "",
                   timestamp: int | None = None, corrupt_ciphertext: bool = False,
                   **overrides) -> PayResult:
        resource = self.v3_payment_resource(openid, out_trade_no, total, attach, **overrides)
        return self.v3_notify("TRANSACTION.SUCCESS", resource, timestamp=timestamp,
                              corrupt_ciphertext=corrupt_ciphertext)

    def v3_refund(self, out_trade_no: str, out_refund_no: str, refund: int, total: int, *,
                  refund_status: str = "SUCCESS", **overrides) -> PayResult:
        resource = {
            "mchid": self.mch_id, "out_trade_no": out_trade_no, "transaction_id": _tx_id(),
            "out_refund_no": out_refund_no, "refund_id": "5000" + _tx_id()[4:],
            "refund_status": refund_status,
            "success_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "user_received_account": "支付用户零钱",
            "amount": {"total": total, "refund": refund, "payer_total": total,
                       "payer_refund": refund},
        }
        resource.update(overrides)
        event = "REFUND.SUCCESS" if refund_status == "SUCCESS" else f"REFUND.{refund_status}"
        return self.v3_notify(event, resource)
