"""WeChat Pay notify codec, v3 (JSON): verify and decode what WeChat Pay's servers POST to
/pay/v3/notify, and the signatures and encrypted certificates of the merchant API's answers
(wechat/pay_client.py).

`Wechatpay-Signature` is SHA256-RSA over "timestamp\\nnonce\\nbody\\n" with the platform
certificate; `resource` is AEAD_AES_256_GCM under the 32-byte APIv3 key.

Everything here raises `PayRejected` (with an English reason for the log) or returns plain
data (wechat/pay.py); nothing touches the database.
"""
from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wx_member.clock import to_utc
from wx_member.wechat.pay import Appids, PaymentNotice, PayRejected, RefundNotice, _ours, fen

V3_MAX_SKEW = 300  # seconds; an older (or future) notify is a replay or a broken clock


def _rfc3339(text: str | None) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(text)) if text else None
    except ValueError:
        raise PayRejected(f"bad time {text!r}") from None


def load_platform_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def cert_serial(cert: x509.Certificate) -> str:
    """The certificate serial number as WeChat writes it in Wechatpay-Serial (upper hex)."""
    return format(cert.serial_number, "X")


KeyFor = Callable[[str], RSAPublicKey | None]


def _key_lookup(keys: x509.Certificate | KeyFor) -> KeyFor:
    if isinstance(keys, x509.Certificate):
        cert = keys
        return lambda serial: cert.public_key() if serial.upper() == cert_serial(cert) else None
    return keys


def verify_v3(headers: Mapping[str, str], body: bytes, keys: x509.Certificate | KeyFor,
              now: float | None = None) -> None:
    """A v3 notify's or answer's signature, by the key `Wechatpay-Serial` names: a platform
    certificate, or a function from serial to key (wechat/pay_keys.py: several certificates
    during a rotation, or the WeChat Pay public key)."""
    ts, nonce = headers.get("Wechatpay-Timestamp", ""), headers.get("Wechatpay-Nonce", "")
    signature, serial = headers.get("Wechatpay-Signature", ""), headers.get("Wechatpay-Serial", "")
    if not (ts.isascii() and ts.isdigit() and nonce and signature):
        raise PayRejected("Wechatpay-* headers missing")
    if abs((now if now is not None else time.time()) - int(ts)) > V3_MAX_SKEW:
        raise PayRejected(f"stale timestamp {ts}")
    key = _key_lookup(keys)(serial)
    if key is None:
        # WeChat rotates platform certificates: a new serial means a certificate to fetch.
        raise PayRejected(f"unknown platform certificate serial {serial!r}")
    try:
        key.verify(base64.b64decode(signature, validate=True),
                   b"%s\n%s\n%s\n" % (ts.encode(), nonce.encode(), body),
                   rsa_padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise PayRejected("bad Wechatpay-Signature") from None


def decrypt_resource_bytes(resource: Mapping[str, str], apiv3_key: str) -> bytes:
    """AEAD_AES_256_GCM under the APIv3 key: a notify's `resource`, or an
    `encrypt_certificate` of /v3/certificates."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise PayRejected(f"unknown algorithm {resource.get('algorithm')!r}")
    try:
        return AESGCM(apiv3_key.encode("utf-8")).decrypt(
            resource["nonce"].encode("utf-8"), base64.b64decode(resource["ciphertext"]),
            (resource.get("associated_data") or "").encode("utf-8"))
    except (InvalidTag, KeyError, ValueError, TypeError, AttributeError):
        raise PayRejected("resource does not decrypt with our APIv3 key") from None


def decrypt_resource(resource: Mapping[str, str], apiv3_key: str) -> dict:
    plain = decrypt_resource_bytes(resource, apiv3_key)
    try:
        return json.loads(plain)
    except ValueError:
        raise PayRejected("resource is not JSON") from None


def rfc3339(text: str | None) -> datetime | None:
    """A v3 time (RFC 3339 with its offset) as naive UTC."""
    return _rfc3339(text)


def v3_notify(headers: Mapping[str, str], body: bytes, cert: x509.Certificate | KeyFor,
              apiv3_key: str, appids: Appids,
              mch_id: str) -> PaymentNotice | RefundNotice | None:
    """A verified v3 notify as a payment or refund; None for an event type we do not use."""
    verify_v3(headers, body, cert)
    try:
        envelope = json.loads(body)
        event_type, resource = envelope["event_type"], envelope["resource"]
    except (ValueError, KeyError, TypeError):
        raise PayRejected("not a v3 notify envelope") from None
    data = decrypt_resource(resource, apiv3_key)
    if not isinstance(data, dict):
        raise PayRejected("resource is not a JSON object")
    if data.get("mchid") != mch_id:
        raise PayRejected(f"mchid {data.get('mchid')!r} is not ours")
    amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
    if event_type.startswith("TRANSACTION."):
        if not _ours(data.get("appid"), appids):
            raise PayRejected(f"appid {data.get('appid')!r} is not ours")
        payer = data.get("payer") if isinstance(data.get("payer"), dict) else {}
        if not data.get("out_trade_no") or not payer.get("openid"):
            raise PayRejected("out_trade_no or payer.openid missing")
        return PaymentNotice(
            api="v3", out_trade_no=data["out_trade_no"],
            transaction_id=data.get("transaction_id", ""), openid=payer["openid"],
            amount_fen=fen(amount.get("total"), "amount.total"),
            paid_at=_rfc3339(data.get("success_time")),
            success=data.get("trade_state") == "SUCCESS", attach=str(data.get("attach") or ""))
    if event_type.startswith("REFUND."):
        if not data.get("out_trade_no") or not data.get("out_refund_no"):
            raise PayRejected("out_trade_no or out_refund_no missing")
        return RefundNotice(
            api="v3", out_trade_no=data["out_trade_no"], out_refund_no=data["out_refund_no"],
            refund_id=data.get("refund_id", ""),
            refund_fen=fen(amount.get("refund"), "amount.refund"),
            order_fen=fen(amount.get("total"), "amount.total"),
            success=data.get("refund_status") == "SUCCESS",
            refunded_at=_rfc3339(data.get("success_time")))
    return None
