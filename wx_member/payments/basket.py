"""What a till sends, checked before anything is read or written: basket lines, payment
parts, coupons, points, the order and refund numbers, the time. Bad input raises
InvalidBasket (a Chinese message naming the field) and nothing is written. `body_hash` is
the fingerprint that tells a till's retry (same number, same body) from a conflict.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from wx_member.clock import local_to_utc
from wx_member.payments.benefits import CATEGORY_MAX
from wx_member.payments.price_lists import SKU_RE
from wx_member.payments.pricing import Line
from wx_member.platform.errors import DomainError

METHODS = ("wechat", "alipay", "cash", "card", "balance")
NO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,47}$")
MAX_LINES, MAX_QUANTITY, MAX_FEN = 200, 9999, 100_000_000


class InvalidBasket(DomainError):
    code = "INVALID_BASKET"
    user_message = "订单内容有误。"


class PaymentsDoNotAddUp(DomainError):
    code = "PAYMENTS_DO_NOT_ADD_UP"
    user_message = "支付金额合计与应付金额不符。"


@dataclass(frozen=True)
class Part:
    method: str
    amount_fen: int
    out_trade_no: str | None = None
    transaction_id: str | None = None


def _bad(detail: str, message: str) -> InvalidBasket:
    return InvalidBasket(detail, user_message=message)


def whole(value, what: str, low: int = 0, high: int = MAX_FEN) -> int:
    """An integer in low..high (not a bool, not 1.5, not "12"): InvalidBasket otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{what}: {value!r} is not an integer in {low}..{high}",
                   f"{what}须为 {low}–{high} 的整数。")
    return value


def number(value, what: str) -> str:
    """An order or refund number: letters, digits, _ and -, at most 48."""
    if not isinstance(value, str) or not NO_RE.match(value):
        raise _bad(f"{what}: {value!r}", f"{what}格式无效（字母、数字、_ -，最多 48 位）。")
    return value


def _text(value, what: str, high: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > high:
        raise _bad(f"{what}: {value!r}", f"{what}须为 1–{high} 个字。")
    return value.strip()


def lines(raw) -> list[Line]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        raise _bad("lines", f"商品明细须有 1–{MAX_LINES} 行。")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise _bad(f"line {n}", f"第 {n} 行商品格式无效。")
        sku = item.get("sku")
        if not isinstance(sku, str) or not SKU_RE.match(sku):
            raise _bad(f"line {n} sku {sku!r}",
                       f"第 {n} 行商品编码格式无效（字母、数字、. _ -，最多 40 位）。")
        out.append(Line(sku=sku, name=_text(item.get("name"), f"第 {n} 行商品名称", 60),
                        category=_text(item.get("category"), f"第 {n} 行品类", CATEGORY_MAX),
                        quantity=whole(item.get("quantity"), f"第 {n} 行数量", 1, MAX_QUANTITY),
                        unit_price_fen=whole(item.get("unit_price_fen"), f"第 {n} 行单价（分）")))
    return out


def coupons(raw) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 10 or \
            not all(isinstance(c, str) and 1 <= len(c.strip()) <= 20 for c in raw):
        raise _bad(f"coupons {raw!r}", "优惠券须为券码列表（最多 10 张）。")
    codes = [c.strip().upper() for c in raw]
    if len(set(codes)) != len(codes):
        raise _bad("coupon twice", "同一张优惠券不能重复使用。")
    return codes


def points(raw) -> int | None:
    return None if raw is None else whole(raw, "抵扣积分", 1, 10**9)


def parts(raw) -> list[Part]:
    # none at all: a purchase paid entirely by coupons and points (payable 0, checked later)
    if not isinstance(raw, list) or not 0 <= len(raw) <= 10:
        raise _bad("payments", "支付方式最多 10 项。")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or item.get("method") not in METHODS:
            raise _bad(f"payment {n}", f"第 {n} 项支付方式无效（可选 {'、'.join(METHODS)}）。")
        ids = {}
        for key in ("out_trade_no", "transaction_id"):
            value = item.get(key)
            if value is not None:
                if item["method"] != "wechat" or not isinstance(value, str) \
                        or not 1 <= len(value) <= 64:
                    raise _bad(f"payment {n} {key}", f"第 {n} 项支付的 {key} 无效（仅微信支付可填）。")
                ids[key] = value
        out.append(Part(item["method"], whole(item.get("amount_fen"), f"第 {n} 项支付金额（分）", 1),
                        **ids))
    if sum(1 for p in out if p.method == "balance") > 1:
        raise _bad("two balance parts", "储值支付只能有一项。")
    return out


def check_adds_up(parts_: list[Part], payable_fen: int) -> None:
    paid = sum(p.amount_fen for p in parts_)
    if paid != payable_fen:
        raise PaymentsDoNotAddUp(f"parts add up to {paid}, payable {payable_fen}",
                                 user_message=f"支付金额合计 {paid} 分，应付 {payable_fen} 分，不一致。")


def moment(raw, tz: ZoneInfo, default: datetime) -> datetime:
    """The till's time (ISO 8601; without an offset: local time in `tz`) as naive UTC."""
    if raw is None:
        return default
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"time {raw!r}", "时间格式无效（ISO 8601，如 2026-12-02T10:00:00+08:00）。") from None
    if value.tzinfo is None:
        return local_to_utc(value, tz)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def body_hash(**parts_) -> str:
    """A fingerprint of a request's meaning (dataclasses as dicts, keys sorted)."""
    def plain(v):
        if isinstance(v, list):
            return [plain(i) for i in v]
        if hasattr(v, "__dataclass_fields__"):
            return asdict(v)
        if isinstance(v, datetime):
            return v.isoformat()
        return v
    text = json.dumps({k: plain(v) for k, v in parts_.items()}, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
