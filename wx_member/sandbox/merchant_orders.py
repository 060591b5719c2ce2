"""`MerchantOrders`: the sandbox merchant's JSAPI orders and refunds as WeChat Pay keeps
them, and what the payer does to them. `MerchantSandbox` (sandbox/merchant.py) is one: it
holds the lock and the state, gives it the merchant (`enable()`) and serves its endpoints
over HTTP.

Tests and the demo decide what the payer does: `pay(no)`, `pay(no, fail=True)`,
`pay(no, notify=False)` (the notify is lost), `renotify(no)`, `notify_paid(no)`;
`settle_refunds()` lets the refunds asked for succeed. Each notify goes to the order's
`notify_url`, signed with the platform key (through `PayNotifier`).
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from wx_member.sandbox.pay import PayNotifier, PayResult, PlatformCert

BEIJING = timezone(timedelta(hours=8))
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")


class _Refuse(ValueError):  # a ValueError: the control API answers 400
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class MerchantOrders:
    # Kept by MerchantSandbox: its lock and state, and the merchant `enable()` gave it.
    _lock: threading.RLock
    orders: dict[str, dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    pending_refunds: deque[str]
    notifies: dict[str, PayResult]
    mch_id: str
    apiv3_key: str
    appids: set[str]
    signer: PlatformCert

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
