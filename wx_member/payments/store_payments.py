"""到店买单: a member pays a store from the mini-program, from the stored-value balance or
by WeChat Pay, and the purchase is recorded at that store like a till's.

The order number `M<UTC %Y%m%d%H%M%S><8 hex>` is the purchase's `pay_order.out_trade_no`,
the coupon's and the cash-off's order number and, by WeChat Pay, the JSAPI order's
out_trade_no: so the existing refund paths (WeChat Pay's refund notify →
`order_refunds.apply_refund`; `wx-member balance refund` for a balance payment) refund it
and, on a full refund, give back its coupon and points, unchanged.

- Balance (or nothing left to pay): ONE write transaction that locks the member first
  (the payments' lock order), prices the amount (payments/store_checkout.py), redeems the
  coupon, takes the points as cash off, takes the stored value (`pay:<no>`) and credits
  the purchase (`orders.credit_purchase`, api "bal": points by tier and the day's
  multiplier, spend, tier move, referrer's share).
- WeChat Pay: one write transaction prices it, writes the `jsapi_order` (purpose
  `store_pay`, amount = payable) and takes the coupon and points under the number, so
  they cannot be used twice while the member pays; WeChat Pay's prepay is asked after it.
  The verified notify (or a query finding it paid) credits the purchase once
  (`record_paid`, keyed by out_trade_no) with the multiplier of the day it was ordered;
  an order that ends closed or failed gives them back (store_payment_state.ended).

A request is once per (member, Idempotency-Key): the `till_request` row
`store_pay:<member>:<key>` is claimed in the paying transaction; a retry answers the
payment as it now stands with `replayed` true, a different body under the key is refused.
Refusals write nothing.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from wx_member.clock import local_day, utcnow
from wx_member.coupons import redeeming
from wx_member.db import UnitOfWork, retrying
from wx_member.loyalty import redemption
from wx_member.models import (JsapiOrder, Member, OrderLine, Store, StorePayment,
                              TillRequest)
from wx_member.payments import (basket, orders, pricing, store_checkout, stored_value,
                                till_orders, wechat_parts, wxpay_orders)
from wx_member.payments.order_errors import OrderMismatch
from wx_member.payments.store_checkout import Figures
from wx_member.payments.store_payment_state import render, row_of
from wx_member.payments.stored_value import InsufficientBalance
from wx_member.platform.errors import InvalidAmount, UnknownMember
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay import PaymentNotice
from wx_member.wechat.pay_client import WeChatPayClient

log = logging.getLogger(__name__)

STORE_PAY = wxpay_orders.STORE_PAY
PAY_WITH = ("balance", "wechat")


def new_no(now: datetime) -> str:
    return "M" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()  # 23 chars


def pay(uow: UnitOfWork, client: WeChatPayClient | None, *, member_id: int,
        request_key: str, store_code: str, amount_fen, pay_with: str,
        coupon: str | None = None, points: int | None = None,
        undiscounted_fen: int | None = None, appid: str | None = None, tz: ZoneInfo,
        now: datetime | None = None) -> dict:
    """Use case: the member pays `amount_fen` at store `store_code`, `undiscounted_fen` of
    it 不参与优惠 (payments/store_checkout.py). Answers `{payment,
    request_payment (wx.requestPayment's arguments, or None), replayed}`. `client` and
    `appid`: WeChat Pay's, needed by `pay_with` "wechat". Raises UnknownStore,
    InvalidAmount, InsufficientBalance, NoMiniProgramOpenid, TillRequestConflict, the
    coupon's or points' refusal, or WeChat Pay's PayApiError (the order then failed, its
    coupon and points given back)."""
    store_checkout.check_amount(amount_fen)
    undiscounted_fen = store_checkout.check_undiscounted(undiscounted_fen, amount_fen)
    if pay_with not in PAY_WITH:
        raise InvalidAmount(f"pay_with {pay_with!r}", user_message="请选择储值或微信支付。")
    now = now or utcnow()
    coupon = store_checkout.coupon_code(coupon)
    key = f"store_pay:{member_id}:{request_key}"
    digest = basket.body_hash(store=(store_code or "").strip(), amount=amount_fen,
                              coupon=coupon, points=points or None, pay_with=pay_with,
                              # only when given: a request without it hashes as before
                              **({"undiscounted": undiscounted_fen} if undiscounted_fen
                                 else {}))

    def attempt() -> tuple[str, JsapiOrder | None, bool]:
        with uow.write() as session:
            return _pay(session, member_id, key, digest, store_code, amount_fen,
                        undiscounted_fen, pay_with, coupon, points or None, appid, tz, now)
    no, order, replayed = retrying(f"store payment {key}", attempt)
    if order is not None:  # WeChat Pay is asked outside the transaction
        checkout = wxpay_orders.prepay(uow, client, order, False, member_id, appid)
        return {"payment": _payment(uow, member_id, no)[0],
                "request_payment": checkout.payment, "replayed": False}
    payment, prepay_id = _payment(uow, member_id, no)
    return {"payment": payment, "replayed": replayed, "request_payment":
            client.request_payment(appid, prepay_id) if prepay_id and client else None}


def _pay(session: Session, member_id: int, key: str, digest: str, store_code: str,
         amount_fen: int, undiscounted_fen: int, pay_with: str, coupon: str | None,
         points: int | None, appid: str | None, tz: ZoneInfo, now: datetime
         ) -> tuple[str, JsapiOrder | None, bool]:
    """(the order number, the JSAPI order to prepay or None, replayed)."""
    member = lock_member(session, Member.id == member_id)  # first: the payments' lock order
    if member is None or member.erased_at is not None:
        raise UnknownMember(f"no member {member_id}")
    first = _first(session, key, digest)  # a retry: even if the store closed since
    if first is not None:
        return first, None, True
    store = store_checkout.open_store(session, store_code)
    request_id = till_orders.claim_key(session, key, store.id, digest, now)
    if request_id is None:  # unreachable under the member's lock; kept for safety
        return _first(session, key, digest), None, True
    f = store_checkout.figures(session, member, store, amount_fen, coupon, points, tz, now,
                               options=False, undiscounted_fen=undiscounted_fen)
    no = new_no(now)
    order = None
    if f.payable_fen and pay_with == "wechat":
        order = _jsapi_order(session, member, store, no, f, appid, now)
    elif f.payable_fen > member.balance_fen:
        raise InsufficientBalance(f"member {member.id} has {member.balance_fen} fen, "
                                  f"store payment needs {f.payable_fen}")
    _take(session, member, store, no, f, coupon, points, now)
    row = StorePayment(out_trade_no=no, member_id=member.id, store_id=store.id,
                       pay_with=pay_with, amount_fen=amount_fen,
                       undiscounted_fen=f.undiscounted_fen, member_fen=f.member_fen,
                       benefit=f.benefit, benefit_kind=f.benefit_kind, coupon_code=coupon,
                       coupon_saving_fen=f.coupon["saving_fen"] if f.coupon else 0,
                       points_used=f.points_used["points"], points_fen=f.points_used["fen"],
                       payable_fen=f.payable_fen, status="created", created_at=now)
    session.add(row)
    if order is None:  # from the balance, or nothing left to pay: paid now
        if f.payable_fen:
            stored_value.post(session, member, -f.payable_fen, "pay", f"pay:{no}", no,
                              source=f"store payment {store.code} {no}")
        _credit(session, member, row, f.rule, api=orders.BALANCE,
                openid=member.openid or member.mini_openid or f"member:{member.id}",
                transaction_id=None, paid_at=now, tz=tz, now=now)
    session.flush()
    session.execute(update(TillRequest).where(TillRequest.id == request_id)
                    .values(answer={"out_trade_no": no}))
    return no, order, False


def _first(session: Session, key: str, digest: str) -> str | None:
    """The order number of request `key` made before, or None; TillRequestConflict when it
    was made with another body."""
    try:
        first = till_orders.replay(session, key, digest)
    except till_orders.TillRequestConflict:
        raise till_orders.TillRequestConflict(
            f"{key} was made with another body",
            user_message="该支付请求已用于其他金额或支付方式，请重新发起支付。") from None
    return None if first is None else first["out_trade_no"]


def _jsapi_order(session: Session, member: Member, store: store_checkout.OpenStore, no: str,
                 f: Figures, appid: str | None, now: datetime) -> JsapiOrder:
    if not member.mini_openid:
        raise wxpay_orders.NoMiniProgramOpenid(f"member {member.id} has no mini openid",
                                               user_message="请先在小程序中登录后再支付。")
    order = JsapiOrder(out_trade_no=no, member_id=member.id, appid=appid or "",
                       openid=member.mini_openid, purpose=STORE_PAY,
                       amount_fen=f.payable_fen, bonus_fen=0, option_fen=None,
                       description=f"到店买单 {store.name}"[:127], attach=STORE_PAY,
                       status="created", created_at=now,
                       expires_at=now + wxpay_orders.OPEN_FOR)
    session.add(order)
    return order


def _take(session: Session, member: Member, store: store_checkout.OpenStore, no: str,
          f: Figures, coupon: str | None, points: int | None, now: datetime) -> None:
    """The coupon and the points, under the order's number (each refuses as it would
    at the till; the whole transaction then rolls back), on the discountable part."""
    left = f.member_fen - f.undiscounted_fen
    if coupon:
        left -= redeeming.redeem_in(session, coupon, member.card_no or member.openid, no,
                                    left, now, store.id).discount_fen
    if points:
        redemption.cash_off_in(session, member, no, left, points, now, store.id)


def _credit(session: Session, member: Member, row: StorePayment, rule, *, api: str,
            openid: str, transaction_id: str | None, paid_at: datetime, tz: ZoneInfo,
            now: datetime) -> None:
    """The purchase recorded at the store and credited, its lines (到店消费 with its benefit;
    不参与优惠 with none, when there is such a part), the row paid."""
    result = orders.credit_purchase(
        session, member, order_no=row.out_trade_no, openid=openid, amount_fen=row.payable_fen,
        paid_at=paid_at, api=api, tz=tz, now=now, transaction_id=transaction_id, rule=rule,
        store_id=row.store_id)
    if result is None:
        raise OrderMismatch(f"store payment {row.out_trade_no} is recorded otherwise")
    plain = row.undiscounted_fen
    lines = ((store_checkout.LINE, row.amount_fen - plain, row.member_fen - plain,
              row.benefit_kind),
             (store_checkout.UNDISCOUNTED, plain, plain, None))
    session.execute(insert(OrderLine), [{
        "order_id": result.order.id, "sku": "", "name": name, "category": name,
        "quantity": 1, "unit_price_fen": unit, "amount_fen": amount, "benefit": benefit,
        "refunded_quantity": 0} for name, unit, amount, benefit in lines if unit])
    if api != orders.BALANCE:
        wechat_parts.claim(session, result.order, row.payable_fen, row.out_trade_no,
                           transaction_id)
    row.status, row.paid_at = "paid", paid_at
    row.points_earned, row.balance_after_fen = result.points, member.balance_fen


# ---- WeChat Pay says it was paid ----------------------------------------------------------

def record_paid(uow: UnitOfWork, notice: PaymentNotice, *, tz: ZoneInfo,
                now: datetime | None = None) -> bool | None:
    """Use case: a verified payment of a store payment's WeChat Pay order (the notify, or a
    query finding it paid): the purchase credited once, at the store, with the multiplier
    of the day it was ordered. True: credited now; False: a replay; None: not a success.
    Raises OrderMismatch (nothing written) when the payment disagrees with the order."""
    if not notice.success:
        return None
    now = now or utcnow()

    def attempt() -> bool:
        with uow.write() as session:
            return _record_paid(session, notice, tz, now)
    return retrying(f"store payment {notice.out_trade_no}", attempt)


def _record_paid(session: Session, notice: PaymentNotice, tz: ZoneInfo,
                 now: datetime) -> bool:
    no = notice.out_trade_no
    ordered = wxpay_orders.order_by_no(session, no)
    if ordered is None or ordered.purpose != STORE_PAY:
        raise OrderMismatch(f"store payment {no}: no such order")
    member = lock_member(session, Member.id == ordered.member_id)
    ordered = wxpay_orders.order_by_no(session, no, lock=True)
    row = row_of(session, no, lock=True)
    if (notice.amount_fen, notice.openid) != (ordered.amount_fen, ordered.openid):
        raise OrderMismatch(f"store payment {no}: ordered {ordered.amount_fen} fen by "
                            f"{ordered.openid}, paid {notice.amount_fen} by {notice.openid}")
    if row.status == "paid":
        log.info("store payment %s already credited; replay ignored", no)
        return False
    if row.returned_at is not None:  # closed here, paid there: the payment still counts
        log.warning("store payment %s paid after its coupon and points were given back", no)
    day = local_day(ordered.created_at, tz)
    rule = pricing.multiplier(session, day, pricing.benefits_for(session, member.tier, day,
                                                                  [""]))
    paid_at = notice.paid_at or now
    _credit(session, member, row, rule, api=notice.api, openid=notice.openid,
            transaction_id=notice.transaction_id or None, paid_at=paid_at, tz=tz, now=now)
    ordered.status, ordered.paid_at = "paid", paid_at
    return True


# ---- reading --------------------------------------------------------------------------

def payment_of(uow: UnitOfWork, member_id: int, no: str) -> dict:
    """Use case (a read): `{payment}`, one of the member's store payments, for the pay
    page's polling; PaymentOrderNotFound for another member's or an unknown number."""
    return {"payment": _payment(uow, member_id, no)[0]}


def _payment(uow: UnitOfWork, member_id: int, no: str) -> tuple[dict, str | None]:
    """(PAYMENT, the prepay id of its WeChat Pay order while unpaid)."""
    with uow.read() as session:
        row = row_of(session, no)
        if row is None or row.member_id != member_id:
            raise wxpay_orders.PaymentOrderNotFound(f"member {member_id} has no payment {no}")
        ordered = wxpay_orders.order_by_no(session, no) if row.status == "created" else None
        return (render(row, session.get(Store, row.store_id)),
                ordered.prepay_id if ordered else None)
