"""`MerchantSandbox`: WeChat Pay's merchant API v3 (api.mch.weixin.qq.com) as the app's
client meets it, served by the sandbox under /v3/... once `enable()` gave it the merchant.

It checks each request's `Authorization: WECHATPAY2-SHA256-RSA2048 …` with the merchant
certificate it was given (a wrong signature, serial or mchid: 401 SIGN_ERROR, as WeChat Pay
answers), signs every answer with its platform key (Wechatpay-* headers), and posts
TRANSACTION.SUCCESS / REFUND.SUCCESS notifies to the order's `notify_url`, signed the same
way (through `PayNotifier`). Platform certificates rotate on request (`rotate()`: a new one
signs, the old stays listed until `retire()`), or a WeChat Pay public key signs instead
(`use_public_key()`).

Tests and the demo decide what the payer does: `pay(no)`, `pay(no, fail=True)`,
`pay(no, notify=False)` (the notify is lost), `renotify(no)`; `fail_next(...)` queues a
WeChat Pay error answer (SYSTEM_ERROR, FREQUENCY_LIMITED, …).
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wx_member.sandbox.pay import PayNotifier, PayResult, PlatformCert, make_platform_cert

BEIJING = timezone(timedelta(hours=8))
AUTH = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.+)$')
FIELD = re.compile(r'(\w+)="([^"]*)"')
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
Answer = tuple[int, dict[str, str], bytes]


class _Refuse(ValueError):  # a ValueError: the control API answers 400
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class MerchantSandbox:
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

    # ---- endpoints -----------------------------------------------------------------------
    def _jsapi(self, data: dict) -> dict:
        if data.get("mchid") != self.mch_id or data.get("appid") not in self.appids:
            raise _Refuse(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        no, total = data["out_trade_no"], data["amount"]["total"]
        if not OUT_TRADE_NO.match(no) or not data.get("description") \
                or not isinstance(total, int) or total <= 0 or not data["payer"]["openid"] \
                or not str(data.get("notify_url", "")).startswith(("https://", "http://127.")):
            raise _Refuse(400, "PARAM_ERROR", "参数错误")
        with self._lock:
            known = self.orders.get(no)
            if known is not None:
                if known["trade_state"] == "SUCCESS":
                    raise _Refuse(400, "ORDERPAID", "该订单已支付")
                if known["trade_state"] == "CLOSED":
                    raise _Refuse(400, "ORDER_CLOSED", "订单已关闭")
                if (known["amount"]["total"], known["payer"]) != (total, data["payer"]):
                    raise _Refuse(400, "INVALID_REQUEST", "201 商户订单号重复")
                return {"prepay_id": known["prepay_id"]}
            self.orders[no] = {**data, "trade_state": "NOTPAY", "created": time.time(),
                               "prepay_id": "wx" + secrets.token_hex(16)}
            return {"prepay_id": self.orders[no]["prepay_id"]}

    def _order(self, no: str) -> dict:
        order = self.orders.get(no)
        if order is None:
            raise _Refuse(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def _transaction(self, order: dict) -> dict:
        out = {k: order[k] for k in ("appid", "mchid", "out_trade_no", "attach", "trade_state")}
        out.update(trade_type="JSAPI", trade_state_desc=order["trade_state"],
                   payer={"openid": order["payer"]["openid"]})
        if order["trade_state"] in ("SUCCESS", "REFUND"):
            total = order["amount"]["total"]
            out.update(transaction_id=order["transaction_id"], bank_type="OTHERS",
                       success_time=order["success_time"],
                       amount={"total": total, "payer_total": total, "currency": "CNY",
                               "payer_currency": "CNY"})
        return out

    def _close(self, no: str, data: dict) -> None:
        if data.get("mchid") != self.mch_id:
            raise _Refuse(400, "PARAM_ERROR", "mchid 与请求不符")
        with self._lock:
            order = self._order(no)
            if order["trade_state"] in ("SUCCESS", "REFUND"):
                raise _Refuse(400, "ORDERPAID", "订单已支付")
            order["trade_state"] = "CLOSED"

    def _refund(self, data: dict) -> dict:
        with self._lock:
            order = self._order(data["out_trade_no"])
            amount, no = data["amount"], data["out_refund_no"]
            if no in self.refunds:
                return self._refund_view(self.refunds[no])
            if order["trade_state"] not in ("SUCCESS", "REFUND"):
                raise _Refuse(400, "INVALID_REQUEST", "订单未支付，不能退款")
            refunded = sum(r["amount"]["refund"] for r in self.refunds.values()
                           if r["out_trade_no"] == order["out_trade_no"])
            if amount["total"] != order["amount"]["total"] or amount["refund"] <= 0 \
                    or refunded + amount["refund"] > amount["total"]:
                raise _Refuse(400, "NOT_ENOUGH", "可退金额不足")
            self.refunds[no] = {**data, "refund_id": "50" + secrets.token_hex(14),
                                "status": "PROCESSING"}
            order["trade_state"] = "REFUND"
            self.pending_refunds.append(no)
            return self._refund_view(self.refunds[no])

    @staticmethod
    def _refund_view(refund: dict) -> dict:
        return {"refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
                "out_trade_no": refund["out_trade_no"], "status": refund["status"],
                "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
                "amount": {**refund["amount"], "payer_total": refund["amount"]["total"],
                           "payer_refund": refund["amount"]["refund"]}}

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

    # ---- what the payer does -------------------------------------------------------------
    def _notifier(self, url: str, appid: str) -> tuple[PayNotifier, str]:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}/"
        return PayNotifier(base, appid, self.mch_id, apiv3_key=self.apiv3_key,
                           platform_private_key=self.signer.private_key_pem,
                           platform_serial=self.signer.serial), parts.path.lstrip("/")

    def pay(self, out_trade_no: str, *, fail: bool = False,
            notify: bool = True) -> PayResult | None:
        """The payer pays (or the payment fails); WeChat Pay notifies unless told not to."""
        with self._lock:
            order = self._order(out_trade_no)
            if order["trade_state"] != "NOTPAY":
                raise ValueError(f"order {out_trade_no} is {order['trade_state']}, not NOTPAY")
            if fail:
                order["trade_state"] = "PAYERROR"
                return None
            order.update(trade_state="SUCCESS", transaction_id="4200" + secrets.token_hex(12),
                         success_time=datetime.now(BEIJING).isoformat(timespec="seconds"))
        return self.renotify(out_trade_no) if notify else None

    def renotify(self, out_trade_no: str) -> PayResult:
        """WeChat Pay's notify of a paid order (again: its retries)."""
        return self.notify_paid(out_trade_no)

    def notify_paid(self, out_trade_no: str) -> PayResult:
        """A signed TRANSACTION.SUCCESS notify of the order, whatever its state here: what
        the app gets when a payment crosses a close (the app must ask before crediting)."""
        order = dict(self._order(out_trade_no))
        if order["trade_state"] not in ("SUCCESS", "REFUND"):
            order.update(trade_state="SUCCESS", transaction_id="4200" + secrets.token_hex(12),
                         success_time=datetime.now(BEIJING).isoformat(timespec="seconds"))
        notifier, path = self._notifier(order["notify_url"], order["appid"])
        resource = {**self._transaction(order), "trade_state_desc": "支付成功"}
        headers, body = notifier.v3_request("TRANSACTION.SUCCESS", resource)
        result = notifier.post(path, body, headers)
        self.notifies[out_trade_no] = result
        return result

    def settle_refunds(self) -> list[PayResult]:
        """The refunds asked for succeed; WeChat Pay posts their REFUND.SUCCESS notifies."""
        results = []
        while self.pending_refunds:
            with self._lock:
                refund = self.refunds[self.pending_refunds.popleft()]
                refund["status"] = "SUCCESS"
                order = self._order(refund["out_trade_no"])
            notifier, _ = self._notifier(refund["notify_url"], order["appid"])
            results.append(notifier.v3_refund(
                refund["out_trade_no"], refund["out_refund_no"], refund["amount"]["refund"],
                refund["amount"]["total"], refund_id=refund["refund_id"],
                transaction_id=order["transaction_id"]))
        return results
