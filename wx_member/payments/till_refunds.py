"""A till's refund of one of its purchases (`POST /till/v1/orders/<no>/refunds`): by lines
(sku and quantity) or by an amount, once per refund number (idempotency as the purchase:
the same number and body answer the first answer, another body is refused).

It reverses like a WeChat refund (`order_refunds.apply_refund`): points back in proportion to
the money refunded (rounded down in the member's favour, exact on a full refund), the
referrer's share, the spend, the tier re-evaluated, and, when the order is then fully
refunded, its coupons back in the wallet (coupons/returns.py) and the points it used as
cash off (loyalty/redemption.py `restore_cash_off`). Money goes back to the stored value
first, up to what the balance paid less what earlier refunds returned; the rest the till
hands back by its own means (cash, card, its WeChat Pay or Alipay refund).

Lines: the money of refunded lines is floor(order money × their value ÷ the lines'
value), a line's value being its amount after benefits pro rata its quantity; refunding
the last lines refunds exactly what is left. Refund numbers are per store, like order
numbers (`S<store id>-<number>`).

An order that took no money here (paid entirely by coupons and points: payable 0) is
refunded all the same, with 0 fen: by lines (partial until every line is back) or with
`amount_fen` 0 (the whole order); its full refund brings back the coupons and the cash-off
points and reverses what it earned.
"""
from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, retrying
from wx_member.models import OrderLine, PaymentPart, StoredValueLedger
from wx_member.payments import basket, order_refunds, orders, stored_value
from wx_member.payments.balance_payments import RefundRefused
from wx_member.payments.till_orders import API, claim_request, order_key, replay
from wx_member.platform.errors import DomainError


class TillOrderNotFound(DomainError):
    code = "TILL_ORDER_NOT_FOUND"
    user_message = "订单不存在（或不属于本门店）。"


def _lines(raw) -> list[tuple[str, int]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= basket.MAX_LINES:
        raise basket.InvalidBasket("refund lines", user_message="退款明细须有 1–200 行。")
    out = []
    for n, item in enumerate(raw, start=1):
        sku = item.get("sku") if isinstance(item, dict) else None
        if not isinstance(sku, str) or not basket.SKU_RE.match(sku):
            raise basket.InvalidBasket(f"refund line {n}", user_message=f"第 {n} 行商品编码格式无效。")
        out.append((sku, basket.whole(item.get("quantity"), f"第 {n} 行退货数量", 1,
                                      basket.MAX_QUANTITY)))
    return out


def refund(uow: UnitOfWork, number: str, body: dict, *, store_id: int | None, tz: ZoneInfo,
           now: datetime | None = None, by: str = "till") -> dict:
    """Use case: refund `body` (refund_no, and lines or amount_fen) of the store's order
    `number`. Raises TillOrderNotFound, RefundRefused (more than is left), InvalidBasket,
    TillRequestConflict, with nothing written."""
    now = now or utcnow()
    number = basket.number(number, "订单号")
    refund_no = basket.number(body.get("refund_no"), "退款单号")
    if ("lines" in body) == ("amount_fen" in body):
        raise basket.InvalidBasket("lines or amount", user_message="请按商品行或金额退款（二选一）。")
    lines = _lines(body["lines"]) if "lines" in body else None
    amount = None if lines else basket.whole(body["amount_fen"], "退款金额（分）", 0)
    out_trade_no, out_refund_no = order_key(store_id, number), order_key(store_id, refund_no)
    digest = basket.body_hash(store=store_id, order=number, lines=lines, amount=amount)
    return retrying(f"till refund {out_refund_no}", lambda: _in_write(
        uow, out_trade_no, out_refund_no, digest, lines, amount, store_id, tz, now, by))


def _in_write(uow, out_trade_no, out_refund_no, digest, lines, amount, store_id, tz, now, by):
    with uow.write() as session:
        order = orders.order_by_no(session, out_trade_no)
        if order is None or order.api != API:
            raise TillOrderNotFound(f"no till order {out_trade_no}")
        member, order = order_refunds.lock_for_refund(session, order)
        key = f"refund:{out_refund_no}"
        first = replay(session, key, digest)
        if first is not None:
            return first
        request = claim_request(session, key, store_id, digest, now)
        if request is None:
            return replay(session, key, digest)
        left = order.amount_fen - order.refunded_fen
        full = None  # the money says whether the order is then fully refunded
        if lines is not None:
            amount, all_back = _lines_amount(session, order, lines, left)
            full = all_back if not order.amount_fen else None
        if not order.amount_fen:
            full = _no_money(order, out_refund_no, amount, full)
        elif amount <= 0 or amount > left:
            raise RefundRefused(f"refund {out_refund_no}: {amount} fen, {left} left",
                                user_message=f"退款金额须在 1–{left} 分之间。")
        result = order_refunds.apply_refund(session, member, order,
                                            out_refund_no=out_refund_no, refund_fen=amount,
                                            refund_id=None, refunded_at=now, api=API, tz=tz,
                                            now=now, full=full)
        if result is None:
            raise RefundRefused(f"refund number {out_refund_no} used by another refund",
                                user_message="该退款单号已被使用。")
        back = _balance_back(session, member, order, amount, out_refund_no, by) \
            if member and amount else 0
        answer = {"order_no": out_trade_no.split("-", 1)[1],
                  "refund_no": out_refund_no.split("-", 1)[1], "amount_fen": amount,
                  "order_status": order.status, "balance_back_fen": back,
                  "points_reversed": result.refund.points_reversed,
                  "points_restored": result.points_restored,
                  "points_balance": member.points_balance if member else None,
                  "tier": member.tier if member else None,
                  "tier_name": labels.tier_name(member.tier) if member else None,
                  "balance_fen": member.balance_fen if member else None,
                  "replayed": False}
        request.answer = answer
        return answer


def _no_money(order, out_refund_no: str, amount: int, full: bool | None) -> bool:
    """An order that took no money here (paid entirely by coupons and points, or its only
    WeChat Pay part credited by the notify): its refund is of 0 fen, by lines (full once
    every line is back) or as `amount_fen` 0 (the whole order). Returns whether the order
    is then fully refunded; refuses a second full refund and any money."""
    if order.status == "refunded":
        raise RefundRefused(f"refund {out_refund_no}: order of no money already refunded",
                            user_message="该订单已全额退款。")
    if amount:
        raise RefundRefused(f"refund {out_refund_no}: {amount} fen of an order of no money",
                            user_message="该订单由优惠券和积分付清，没有可退的金额（退款金额填 0 即整单退款）。")
    return True if full is None else full


def _lines_amount(session: Session, order, wanted: list[tuple[str, int]],
                  left: int) -> tuple[int, bool]:
    """The money of the lines `wanted` back (marked refunded), and whether every line of
    the order is then back."""
    rows = list(session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                .order_by(OrderLine.id).with_for_update()))
    total = sum(r.amount_fen for r in rows)
    value = Fraction(0)
    for sku, quantity in wanted:
        for row in (r for r in rows if r.sku == sku):
            take = min(quantity, row.quantity - row.refunded_quantity)
            if take > 0:
                row.refunded_quantity += take
                value += Fraction(row.amount_fen * take, row.quantity)
                quantity -= take
        if quantity:
            raise RefundRefused(f"sku {sku}: {quantity} more than bought or left",
                                user_message=f"商品 {sku} 的退货数量超过可退数量。")
    if all(r.refunded_quantity == r.quantity for r in rows):
        return left, True  # the last lines: exactly what is left
    return (int(order.amount_fen * value / total) if total else 0), False


def _balance_back(session: Session, member, order, amount: int, out_refund_no: str,
                  by: str) -> int:
    paid = int(session.scalar(select(func.coalesce(func.sum(PaymentPart.amount_fen), 0))
                              .where(PaymentPart.order_id == order.id,
                                     PaymentPart.method == "balance")))
    returned = int(session.scalar(
        select(func.coalesce(func.sum(StoredValueLedger.delta_fen), 0))
        .where(StoredValueLedger.order_no == order.out_trade_no,
               StoredValueLedger.reason == "pay_refund")))
    back = min(amount, paid - returned)
    if back > 0:
        stored_value.post(session, member, back, "pay_refund", f"pay_refund:{out_refund_no}",
                          order.out_trade_no, source=f"{by}: refund {out_refund_no}"[:100])
    return max(back, 0)
