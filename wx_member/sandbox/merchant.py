"""`MerchantSandbox`: WeChat Pay's merchant API v3 (api.mch.weixin.qq.com) as the app's
client meets it, served by the sandbox under /v3/... once `enable()` gave it the merchant.

It checks each request's `Authorization: WECHATPAY2-SHA256-RSA2048 …` with the merchant
certificate it was given (a wrong signature, serial or mchid: 401 SIGN_ERROR, as WeChat Pay
answers), signs every answer with its platform key (Wechatpay-* headers), and posts
TRANSACTION.SUCCESS / REFUND.SUCCESS notifies to the order's `notify_url`, signed the same
way (through `PayNotifier`). Platform certificates rotate on request (`rotate()`: a new one
signs, the old stays listed until `retire()`), or a WeChat Pay public key signs instead
(`use_public_key()`).

Its orders, refunds and what the payer does to them (`pay(no)`, `renotify(no)`, …) are
`MerchantOrders` (sandbox/merchant_orders.py); `fail_next(...)` queues a WeChat Pay error
answer (SYSTEM_ERROR, FREQUENCY_LIMITED, …).
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wx_member.sandbox.merchant_orders import BEIJING, MerchantOrders, _Refuse
from wx_member.sandbox.pay import PayResult, PlatformCert, make_platform_cert

AUTH = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.+)$')
FIELD = re.compile(r'(\w+)="([^"]*)"')
Answer = tuple[int, dict[str, str], bytes]


class MerchantSandbox(MerchantOrders):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.enabled = False
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.pending_refunds: deque[str] = deque()
        self.notifies: dict[str, PayResult] = {}  # the last notify of each order
        self._failures: deque[tuple[str, int, str]] = deque()
        self.calls: list[tuple[str, str]] = []

    # ---- set-up --------------------------------------------------------------------------
    def enable(self, *, mch_id: str, apiv3_key: str, merchant_cert_pem: bytes,
               appids: tuple[str, ...], platform: PlatformCert | None = None) -> None:
        cert = x509.load_pem_x509_certificate(merchant_cert_pem)
        with self._lock:
            self.mch_id, self.apiv3_key, self.appids = mch_id, apiv3_key, set(appids)
            self.merchant_key = cert.public_key()
            self.merchant_serial = format(cert.serial_number, "X")
            self.platforms = [platform or make_platform_cert()]
            self.signer = self.platforms[0]
            self.enabled = True

    def rotate(self) -> PlatformCert:
        """A new platform certificate signs from now on; the old one stays listed."""
        with self._lock:
            new = make_platform_cert("Sandbox WeChat Pay Platform (rotated)")
            self.platforms.append(new)
            self.signer = new
            return new

    def retire(self, serial: str) -> None:
        with self._lock:
            self.platforms = [p for p in self.platforms if p.serial != serial]

    def use_public_key(self, key_id: str = "PUB_KEY_ID_0000000000000001") -> PlatformCert:
        """Sign with a WeChat Pay public key (serial `PUB_KEY_ID_…`) instead."""
        with self._lock:
            cert = make_platform_cert()
            self.signer = PlatformCert(cert.private_key_pem, cert.cert_pem, key_id)
            return self.signer

    def fail_next(self, path_part: str, status: int = 500, code: str = "SYSTEM_ERROR") -> None:
        """The next call whose path contains `path_part` answers WeChat Pay's error."""
        with self._lock:
            self._failures.append((path_part, status, code))

    # ---- HTTP ----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """One request; `target` is the path with its query, as signed."""
        try:
            if not self.enabled:
                raise _Refuse(404, "NOT_FOUND", "sandbox: WeChat Pay not enabled")
            self._check_signature(method, target, headers, body)
            path, query = urlsplit(target).path, dict(parse_qsl(urlsplit(target).query))
            with self._lock:
                self.calls.append((method, path))
                for i, (part, status, code) in enumerate(self._failures):
                    if part in path:
                        del self._failures[i]
                        raise _Refuse(status, code, "sandbox: injected error")
            data = json.loads(body) if body else {}
            status, answer = self._route(method, path, query, data)
        except _Refuse as exc:
            return self._signed(exc.status, {"code": exc.code, "message": exc.message})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return self._signed(400, {"code": "PARAM_ERROR", "message": f"参数错误: {exc}"})
        return self._signed(status, answer)

    def _check_signature(self, method: str, target: str, headers: dict[str, str],
                         body: bytes) -> None:
        match = AUTH.match(headers.get("Authorization", ""))
        fields = dict(FIELD.findall(match.group(1))) if match else {}
        try:
            if fields.get("mchid") != self.mch_id or fields.get("serial_no") != self.merchant_serial:
                raise InvalidSignature
            if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
                raise InvalidSignature
            message = (f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n"
                       .encode() + body + b"\n")
            self.merchant_key.verify(base64.b64decode(fields.get("signature", "")), message,
                                     padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, KeyError, ValueError):
            raise _Refuse(401, "SIGN_ERROR", "签名错误") from None

    def _signed(self, status: int, answer: dict | None) -> Answer:
        body = json.dumps(answer, ensure_ascii=False).encode() if answer is not None else b""
        signer = self.signer
        key = serialization.load_pem_private_key(signer.private_key_pem, None)
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        sig = key.sign(f"{ts}\n{nonce}\n".encode() + body + b"\n", padding.PKCS1v15(),
                       hashes.SHA256())
        return status, {"Content-Type": "application/json", "Wechatpay-Timestamp": ts,
                        "Wechatpay-Nonce": nonce, "Wechatpay-Serial": signer.serial,
                        "Wechatpay-Signature": base64.b64encode(sig).decode(),
                        "Request-ID": secrets.token_hex(12)}, body

    def _route(self, method: str, path: str, query: dict, data: dict) -> tuple[int, dict | None]:
        prefix = "/v3/pay/transactions/out-trade-no/"
        if (method, path) == ("POST", "/v3/pay/transactions/jsapi"):
            return 200, self._jsapi(data)
        if method == "GET" and path.startswith(prefix):
            if query.get("mchid") != self.mch_id:
                raise _Refuse(400, "PARAM_ERROR", "mchid 与请求不符")
            return 200, self._transaction(self._order(path.removeprefix(prefix)))
        if method == "POST" and path.startswith(prefix) and path.endswith("/close"):
            self._close(path.removeprefix(prefix).removesuffix("/close"), data)
            return 204, None
        if (method, path) == ("POST", "/v3/refund/domestic/refunds"):
            return 200, self._refund(data)
        if (method, path) == ("GET", "/v3/certificates"):
            return 200, {"data": [self._certificate(p) for p in self.platforms]}
        raise _Refuse(404, "NOT_FOUND", f"sandbox: no WeChat Pay API {method} {path}")

    def _certificate(self, platform: PlatformCert) -> dict:
        cert = x509.load_pem_x509_certificate(platform.cert_pem)
        nonce = secrets.token_hex(6)
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), platform.cert_pem,
                                                         b"certificate")
        return {"serial_no": platform.serial,
                "effective_time": cert.not_valid_before_utc.astimezone(BEIJING).isoformat(),
                "expire_time": cert.not_valid_after_utc.astimezone(BEIJING).isoformat(),
                "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                                        "associated_data": "certificate",
                                        "ciphertext": base64.b64encode(sealed).decode()}}
