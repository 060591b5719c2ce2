"""The one place that calls WeChat Pay's merchant API v3 (JSAPI orders, query, close,
refunds, platform certificates). Its base URL is configuration (`WXPAY_API_BASE`): the
sandbox in tests and the demo, https://api.mch.weixin.qq.com/ in production.

Every request is signed as WeChat Pay documents (`Authorization: WECHATPAY2-SHA256-RSA2048
mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…`, the signature SHA256-with-RSA by
the merchant private key over "METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n"), and
every answer's `Wechatpay-Signature` is verified with the platform key its serial names
(wechat/pay_keys.py) before it is believed.

Not wechatpayv3 (PyPI): its gateway URL is fixed to api.mch.weixin.qq.com and it downloads
certificates (and writes them to a directory) when it is constructed; here the sandbox
stands in by configuration and certificates are fetched lazily, in memory.

The merchant private key is read from `WXPAY_PRIVATE_KEY` (a path) once and never appears
in a log line, an error or a repr.

Failures leave as `PayApiError` (a WeChatUnavailable domain error) carrying WeChat Pay's
`code` (SYSTEM_ERROR, FREQUENCY_LIMITED, ORDERPAID, ORDER_CLOSED, SIGN_ERROR, …) for logs
and callers, with a Chinese message for the member.
"""
from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from wx_member import labels
from wx_member.config import Config
from wx_member.errors import WeChatUnavailable
from wx_member.wechat import pay, pay_v3
from wx_member.wechat.http import PooledSession
from wx_member.wechat.pay_keys import PlatformCertificate, PlatformKeys

log = logging.getLogger(__name__)
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
class PayApiError(WeChatUnavailable):
    """WeChat Pay refused or did not answer (`wx_code` None: no usable answer). Raise it
    through `PayApiError.of`, which picks the subclass of an order-state refusal."""

    code = "WXPAY_UNAVAILABLE"

    def __init__(self, wx_code: str | None, detail: str, http_status: int | None = None,
                 maybe_sent: bool = False):
        super().__init__(f"WeChat Pay {wx_code or 'no answer'}: {detail}",
                         user_message=labels.WXPAY_ERRORS.get(wx_code or "",
                                                       labels.WXPAY_ERRORS[""]))
        self.wx_code, self.http_status, self.maybe_sent = wx_code, http_status, maybe_sent

    @staticmethod
    def of(wx_code: str | None, detail: str, http_status: int | None = None,
           maybe_sent: bool = False) -> PayApiError:
        cls = {"ORDERPAID": OrderPaidAtWeChat, "ORDER_CLOSED": OrderClosedAtWeChat}.get(
            wx_code or "", PayApiError)
        return cls(wx_code, detail, http_status, maybe_sent)


class OrderPaidAtWeChat(PayApiError):
    """ORDERPAID: the order was paid already (a second payment or a close refused)."""
    code = "ORDER_PAID"


class OrderClosedAtWeChat(PayApiError):
    """ORDER_CLOSED: the order was closed; a new one is needed."""
    code = "ORDER_CLOSED"


@dataclass(frozen=True)
class Transaction:
    """What `GET /v3/pay/transactions/out-trade-no/{no}` says of one order."""
    out_trade_no: str
    trade_state: str  # SUCCESS NOTPAY CLOSED REFUND USERPAYING PAYERROR REVOKED
    appid: str
    mchid: str
    openid: str
    amount_fen: int | None
    transaction_id: str
    attach: str
    paid_at: datetime | None

    def notice(self) -> pay.PaymentNotice:
        """The same facts a payment notify carries: one way to credit, whichever came."""
        return pay.PaymentNotice(api="v3", out_trade_no=self.out_trade_no,
                                 transaction_id=self.transaction_id, openid=self.openid,
                                 amount_fen=self.amount_fen or 0, paid_at=self.paid_at,
                                 success=self.trade_state == "SUCCESS", attach=self.attach)


class _MerchantKey:
    """The merchant private key: signs, and never says what it is."""

    def __init__(self, path: str):
        try:
            with open(path, "rb") as f:
                key = serialization.load_pem_private_key(f.read(), password=None)
        except (OSError, ValueError, TypeError):
            raise ValueError(f"WXPAY_PRIVATE_KEY: no unencrypted PEM private key at {path}") \
                from None
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("WXPAY_PRIVATE_KEY is not an RSA key")
        self._key = key

    def sign(self, message: str) -> str:
        return base64.b64encode(self._key.sign(message.encode("utf-8"), padding.PKCS1v15(),
                                               hashes.SHA256())).decode("ascii")

    def __repr__(self) -> str:
        return "<merchant private key>"


class WeChatPayClient:
    def __init__(self, config: Config, http: requests.Session | None = None,
                 timeout: float = 10.0):
        self.base = config.pay_api_base.rstrip("/")
        self.mch_id, self.serial = config.mch_id, config.pay_cert_serial
        self.apiv3_key, self.notify_url = config.pay_apiv3_key, config.pay_notify_url
        self._key = _MerchantKey(config.pay_private_key)
        self.http = http or PooledSession()
        self.timeout = timeout
        public_key = b""
        if config.pay_public_key:
            with open(config.pay_public_key, "rb") as f:
                public_key = f.read()
        self.keys = PlatformKeys(
            public_key_pem=public_key or None, public_key_id=config.pay_public_key_id,
            cert_path=config.pay_platform_cert,
            fetch=None if public_key else self.download_certificates)

    def __repr__(self) -> str:
        return f"<WeChatPayClient mchid={self.mch_id} base={self.base}>"

    # ---- signing -------------------------------------------------------------------------
    def authorization(self, method: str, path: str, body: str) -> str:
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = self._key.sign(f"{method}\n{path}\n{ts}\n{nonce}\n{body}\n")
        return (f'{SCHEMA} mchid="{self.mch_id}",nonce_str="{nonce}",signature="{signature}",'
                f'timestamp="{ts}",serial_no="{self.serial}"')

    def request_payment(self, appid: str, prepay_id: str) -> dict[str, str]:
        """What `wx.requestPayment` takes: paySign over "appId\\ntimeStamp\\nnonceStr\\npackage\\n"."""
        ts, nonce, package = str(int(time.time())), secrets.token_hex(16), f"prepay_id={prepay_id}"
        return {"appId": appid, "timeStamp": ts, "nonceStr": nonce, "package": package,
                "signType": "RSA",
                "paySign": self._key.sign(f"{appid}\n{ts}\n{nonce}\n{package}\n")}

    # ---- transport -----------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              verify: bool = True) -> tuple[int, dict[str, Any] | None, Mapping[str, str], bytes]:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body else ""
        headers = {"Authorization": self.authorization(method, path, text),
                   "Accept": "application/json", "Content-Type": "application/json",
                   "User-Agent": "wx-member"}
        try:
            res = self.http.request(method, self.base + path, data=text.encode("utf-8") or None,
                                    headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            sent = not isinstance(exc, requests.ConnectTimeout)
            raise PayApiError(None, f"{method} {path}: {type(exc).__name__}",
                              maybe_sent=sent) from None
        raw = res.content
        data = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                raise PayApiError(None, f"{method} {path}: HTTP {res.status_code}, not JSON",
                                  res.status_code) from None
        if res.status_code >= 400:
            code = data.get("code") if isinstance(data, dict) else None
            message = data.get("message", "") if isinstance(data, dict) else ""
            log.warning("WeChat Pay %s %s: HTTP %s %s %s", method, path, res.status_code, code,
                        message)
            raise PayApiError.of(code, f"{method} {path}: HTTP {res.status_code} {message}",
                                 res.status_code)
        if verify:
            try:
                pay_v3.verify_v3(res.headers, raw, self.keys.key_for)
            except pay.PayRejected as exc:
                log.error("WeChat Pay %s %s: answer not authentic: %s", method, path, exc)
                raise PayApiError(None, f"{method} {path}: answer not authentic: {exc}",
                                  res.status_code) from None
        return res.status_code, data, res.headers, raw

    # ---- the API -------------------------------------------------------------------------
    def jsapi(self, *, appid: str, description: str, out_trade_no: str, total_fen: int,
              openid: str, attach: str, time_expire: str | None = None) -> str:
        """`POST /v3/pay/transactions/jsapi` → prepay_id."""
        body: dict[str, Any] = {
            "appid": appid, "mchid": self.mch_id, "description": description,
            "out_trade_no": out_trade_no, "attach": attach, "notify_url": self.notify_url,
            "amount": {"total": total_fen, "currency": "CNY"}, "payer": {"openid": openid}}
        if time_expire:
            body["time_expire"] = time_expire
        _, data, _, _ = self._call("POST", "/v3/pay/transactions/jsapi", body)
        if not isinstance(data, dict) or not data.get("prepay_id"):
            raise PayApiError(None, f"jsapi {out_trade_no}: no prepay_id")
        return str(data["prepay_id"])

    def query(self, out_trade_no: str) -> Transaction:
        path = (f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
                f"?mchid={quote(self.mch_id, safe='')}")
        _, data, _, _ = self._call("GET", path)
        if not isinstance(data, dict) or data.get("out_trade_no") != out_trade_no:
            raise PayApiError(None, f"query {out_trade_no}: unexpected answer")
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        payer = data.get("payer") if isinstance(data.get("payer"), dict) else {}
        paid_at = pay_v3.rfc3339(data.get("success_time")) if data.get("success_time") else None
        total = amount.get("total")
        return Transaction(out_trade_no=out_trade_no, trade_state=str(data.get("trade_state")),
                           appid=str(data.get("appid", "")), mchid=str(data.get("mchid", "")),
                           openid=str(payer.get("openid", "")),
                           amount_fen=int(total) if isinstance(total, int) else None,
                           transaction_id=str(data.get("transaction_id") or ""),
                           attach=str(data.get("attach") or ""), paid_at=paid_at)

    def close(self, out_trade_no: str) -> None:
        """`POST …/out-trade-no/{no}/close` → 204 (ORDERPAID: it was paid meanwhile)."""
        self._call("POST", f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
                           "/close", {"mchid": self.mch_id})

    def refund(self, *, out_trade_no: str, out_refund_no: str, refund_fen: int,
               total_fen: int, reason: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
                                "notify_url": self.notify_url,
                                "amount": {"refund": refund_fen, "total": total_fen,
                                           "currency": "CNY"}}
        if reason:
            body["reason"] = reason
        _, data, _, _ = self._call("POST", "/v3/refund/domestic/refunds", body)
        return data or {}

    def download_certificates(self) -> list[PlatformCertificate]:
        """`GET /v3/certificates`: each certificate decrypted with the APIv3 key (which only
        WeChat Pay and we hold); the answer is verified with one of them."""
        _, data, headers, raw = self._call("GET", "/v3/certificates", verify=False)
        certs = []
        for item in (data or {}).get("data") or []:
            pem = pay_v3.decrypt_resource_bytes(item.get("encrypt_certificate") or {},
                                             self.apiv3_key)
            certs.append(PlatformCertificate.from_pem(pem))
        by_serial = {c.serial: c.public_key for c in certs}
        pay_v3.verify_v3(headers, raw, by_serial.get)
        return certs
