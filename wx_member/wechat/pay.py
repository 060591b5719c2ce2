"""WeChat Pay notify codec: verify and decode what WeChat Pay's servers POST to us.

v2 (XML): the payment notify is signed with the merchant API key, MD5 or HMAC-SHA256 over
the sorted non-empty fields (wechatpy 1.8.18's `parse_payment_result` only knows MD5); the
refund notify carries `req_info`, AES-256-ECB under lowercase hex md5(API key). wechatpy's
`WeChatRefundCrypto` parses with xmltodict, so we decrypt with `cryptography` and parse
every body with defusedxml (no DTDs, entities or external references).

v3 (JSON): `Wechatpay-Signature` is SHA256-RSA over "timestamp\\nnonce\\nbody\\n" with the
platform certificate; `resource` is AEAD_AES_256_GCM under the 32-byte APIv3 key.

Everything here raises `PayRejected` (with an English reason for the log) or returns plain
data; nothing touches the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import defusedxml.ElementTree as SafeET
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from defusedxml import DefusedXmlException

from wx_member.clock import local_to_utc, to_utc

V3_MAX_SKEW = 300  # seconds; an older (or future) notify is a replay or a broken clock
BEIJING = timezone(timedelta(hours=8))  # v2 times are Beijing wall-clock, without a zone
_FEN = re.compile(r"[0-9]{1,15}")


class PayRejected(Exception):
    """Not an authentic, well-formed notify for our merchant: answer FAIL, credit nothing."""


@dataclass(frozen=True)
class PaymentNotice:
    api: str  # v2 | v3
    out_trade_no: str
    transaction_id: str
    openid: str
    amount_fen: int
    paid_at: datetime | None  # naive UTC; None when WeChat did not say
    success: bool  # result_code / trade_state SUCCESS
    attach: str = ""  # our own tag from the order (v2 `attach`, v3 `attach`): "recharge"


@dataclass(frozen=True)
class RefundNotice:
    api: str
    out_trade_no: str
    out_refund_no: str
    refund_id: str
    refund_fen: int
    order_fen: int  # the order's total as WeChat knows it
    success: bool  # refund_status SUCCESS
    refunded_at: datetime | None


def fen(value: object, name: str) -> int:
    """A positive whole number of fen, from XML text or JSON; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) \
            or not _FEN.fullmatch(str(value)):
        raise PayRejected(f"{name} is not a whole number of fen: {value!r}")
    if int(value) <= 0:
        raise PayRejected(f"{name} must be positive: {value!r}")
    return int(value)


def _beijing(text: str | None, fmt: str) -> datetime | None:
    try:
        return local_to_utc(datetime.strptime(text, fmt), BEIJING) if text else None
    except ValueError:
        raise PayRejected(f"bad time {text!r}") from None


def _rfc3339(text: str | None) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(text)) if text else None
    except ValueError:
        raise PayRejected(f"bad time {text!r}") from None


# ---- v2 ----------------------------------------------------------------------------------

def v2_sign(fields: Mapping[str, str], api_key: str, sign_type: str = "MD5") -> str:
    """Sort the non-empty fields except `sign`, join as k=v&...&key=API_KEY, hash, upper hex."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k])
    data = f"{text}&key={api_key}".encode("utf-8")
    if sign_type == "MD5":
        return hashlib.md5(data).hexdigest().upper()
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode("utf-8"), data, hashlib.sha256).hexdigest().upper()
    raise PayRejected(f"unknown sign_type {sign_type!r}")


def parse_xml(body: bytes | str, root_tag: str = "xml") -> dict[str, str]:
    """A flat WeChat Pay XML document as a dict of strings."""
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise PayRejected(f"malformed or unsafe XML: {type(exc).__name__}") from None
    if root.tag != root_tag:
        raise PayRejected(f"root element is not <{root_tag}>")
    return {child.tag: (child.text or "").strip() for child in root}


Appids = str | Collection[str]


def _ours(appid: object, appids: Appids) -> bool:
    """A notify names the appid that took the payment: the Official Account's for a payment
    in its pages, the mini-program's for one inside the mini-program. Both are ours."""
    owned = (appids,) if isinstance(appids, str) else tuple(appids)
    return isinstance(appid, str) and bool(appid) and appid in owned


def check_merchant(fields: Mapping[str, str], appids: Appids, mch_id: str) -> None:
    if not _ours(fields.get("appid"), appids):
        raise PayRejected(f"appid {fields.get('appid')!r} is not ours")
    if fields.get("mch_id") != mch_id:
        raise PayRejected(f"mch_id {fields.get('mch_id')!r} is not ours")


def verify_v2(fields: Mapping[str, str], api_key: str) -> None:
    expected = v2_sign(fields, api_key, fields.get("sign_type") or "MD5")
    if not hmac.compare_digest(expected.encode(), fields.get("sign", "").upper().encode()):
        raise PayRejected("bad sign")


def v2_payment(body: bytes, appids: Appids, mch_id: str,
               api_key: str) -> PaymentNotice | None:
    """A verified v2 payment notify; None for a `return_code=FAIL` one, which carries no
    signed business fields (WeChat's own communication error: acknowledge, record nothing)."""
    fields = parse_xml(body)
    if fields.get("return_code") != "SUCCESS":
        return None
    verify_v2(fields, api_key)
    check_merchant(fields, appids, mch_id)
    for name in ("out_trade_no", "openid"):
        if not fields.get(name):
            raise PayRejected(f"{name} missing")
    return PaymentNotice(
        api="v2", out_trade_no=fields["out_trade_no"],
        transaction_id=fields.get("transaction_id", ""), openid=fields["openid"],
        amount_fen=fen(fields.get("total_fee"), "total_fee"),
        paid_at=_beijing(fields.get("time_end"), "%Y%m%d%H%M%S"),
        success=fields.get("result_code") == "SUCCESS", attach=fields.get("attach", ""))


def v2_refund_key(api_key: str) -> bytes:
    return hashlib.md5(api_key.encode("utf-8")).hexdigest().lower().encode("ascii")


def decrypt_req_info(req_info: str, api_key: str) -> dict[str, str]:
    """req_info: base64 of AES-256-ECB(PKCS#7) under lowercase hex md5(API key)."""
    try:
        data = base64.b64decode(req_info, validate=True)
        decryptor = Cipher(algorithms.AES(v2_refund_key(api_key)), modes.ECB()).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise PayRejected("req_info does not decrypt with our key") from None
    return parse_xml(plain, "root")


def v2_refund(body: bytes, appids: Appids, mch_id: str, api_key: str) -> RefundNotice | None:
    """A decrypted v2 refund notify (no sign: only the holder of the key can encrypt)."""
    fields = parse_xml(body)
    if fields.get("return_code") != "SUCCESS":
        return None
    check_merchant(fields, appids, mch_id)
    info = decrypt_req_info(fields.get("req_info", ""), api_key)
    for name in ("out_trade_no", "out_refund_no"):
        if not info.get(name):
            raise PayRejected(f"{name} missing from req_info")
    return RefundNotice(
        api="v2", out_trade_no=info["out_trade_no"], out_refund_no=info["out_refund_no"],
        refund_id=info.get("refund_id", ""), refund_fen=fen(info.get("refund_fee"), "refund_fee"),
        order_fen=fen(info.get("total_fee"), "total_fee"),
        success=info.get("refund_status") == "SUCCESS",
        refunded_at=_beijing(info.get("success_time"), "%Y-%m-%d %H:%M:%S"))


# ---- v3 ----------------------------------------------------------------------------------

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
