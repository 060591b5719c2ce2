"""WeChat Pay notify codec, v2 (XML): verify and decode the payment and refund notifies
WeChat Pay's servers POST to /pay/notify and /pay/refund-notify.

The payment notify is signed with the merchant API key, MD5 or HMAC-SHA256 over the sorted
non-empty fields (wechatpy 1.8.18's `parse_payment_result` only knows MD5); the refund
notify carries `req_info`, AES-256-ECB under lowercase hex md5(API key). wechatpy's
`WeChatRefundCrypto` parses with xmltodict, so we decrypt with `cryptography` and parse
every body with defusedxml (no DTDs, entities or external references).

Everything here raises `PayRejected` (with an English reason for the log) or returns plain
data (wechat/pay.py); nothing touches the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import defusedxml.ElementTree as SafeET
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

from wx_member.clock import local_to_utc
from wx_member.wechat.pay import Appids, PaymentNotice, PayRejected, RefundNotice, _ours, fen

BEIJING = timezone(timedelta(hours=8))  # v2 times are Beijing wall-clock, without a zone


def _beijing(text: str | None, fmt: str) -> datetime | None:
    try:
        return local_to_utc(datetime.strptime(text, fmt), BEIJING) if text else None
    except ValueError:
        raise PayRejected(f"bad time {text!r}") from None


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
