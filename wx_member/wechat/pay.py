"""WeChat Pay notify codec: what both API versions share. A verified notify becomes a
`PaymentNotice` or a `RefundNotice`; anything not authentic or malformed raises
`PayRejected` (with an English reason for the log); amounts are whole fen; the appids that
may take a payment are ours. The v2 (XML) codec is wechat/pay_v2.py, the v3 (JSON) one
wechat/pay_v3.py.

Everything here raises `PayRejected` or returns plain data; nothing touches the database.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

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


Appids = str | Collection[str]


def _ours(appid: object, appids: Appids) -> bool:
    """A notify names the appid that took the payment: the Official Account's for a payment
    in its pages, the mini-program's for one inside the mini-program. Both are ours."""
    owned = (appids,) if isinstance(appids, str) else tuple(appids)
    return isinstance(appid, str) and bool(appid) and appid in owned
