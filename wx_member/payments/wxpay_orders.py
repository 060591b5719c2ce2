"""WeChat Pay orders we create for the mini-program (JSAPI): recharges of stored value,
paid memberships (purpose "membership", credited by payments/paid_memberships.py) and
到店买单 (purpose "store_pay", made and credited by payments/store_payments.py), and the
member's view of one. What WeChat Pay then says of them (notifies, queries, closing,
reconciliation) is payments/wxpay_settlement.py's, through `settle` and `order_by_no` here.

The lifecycle of a `jsapi_order` row: `created` (written before WeChat Pay is called, the
bonus fixed on it) → `paid` (the notify, or a query finds it paid; credited once by
`stored_value.record_recharge`, keyed by `out_trade_no`) or `closed` (the member cancels, or
`OPEN_FOR` passes: WeChat Pay's close call) or `failed` (WeChat Pay refused to create it).

WeChat Pay is never called inside a transaction: each use case here reads or writes, calls
WeChat Pay, then writes.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.errors import DomainError
from wx_member.models import JsapiOrder, Member, RechargeOption
from wx_member.payments import paid_memberships, store_payment_state, stored_value
from wx_member.platform.errors import InvalidAmount, UnknownMember
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay_client import PayApiError, WeChatPayClient

log = logging.getLogger(__name__)

RECHARGE = "recharge"  # the order's purpose and its `attach`, which the notify carries back
STORE_PAY = "store_pay"  # 到店买单 (payments/store_payments.py): purpose and attach
MIN_RECHARGE_FEN = 100  # 1 yuan
MAX_RECHARGE_FEN = 50_000_000  # 500,000 yuan: the corporate rungs (存50万送5万) fit
OPEN_FOR = timedelta(minutes=15)  # then the order is closed (time_expire at WeChat Pay too)
RECONCILE_AFTER = timedelta(minutes=5)  # unpaid this long: ask WeChat Pay
REUSE_WITHIN = timedelta(minutes=1)  # a second tap on the same rung or amount: the open order
BEIJING = timezone(timedelta(hours=8))


class UnknownRechargeOption(DomainError):
    code = "UNKNOWN_RECHARGE_OPTION"
    user_message = "该充值档位不存在或已下架，请刷新后重试。"


class NoMiniProgramOpenid(DomainError):
    code = "NO_MINI_OPENID"
    user_message = "请先在小程序中登录后再充值。"


class PaymentOrderNotFound(DomainError):
    code = "PAY_ORDER_NOT_FOUND"
    user_message = "订单不存在。"


class OrderNotOpen(DomainError):
    code = "PAY_ORDER_NOT_OPEN"
    user_message = "订单已支付或已关闭。"


@dataclass(frozen=True)
class OrderView:
    out_trade_no: str
    purpose: str
    amount_fen: int
    bonus_fen: int
    status: str
    status_zh: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None


@dataclass(frozen=True)
class Checkout:
    order: OrderView
    payment: dict[str, str]  # what wx.requestPayment takes
    reused: bool  # the open order of the same rung or typed amount, not a new one


def _view(o: JsapiOrder) -> OrderView:
    return OrderView(o.out_trade_no, o.purpose, o.amount_fen, o.bonus_fen, o.status,
                     labels.PREPAY_STATUS.get(o.status, o.status), o.created_at, o.expires_at,
                     o.paid_at)


def order_by_no(session: Session, no: str, lock: bool = False) -> JsapiOrder | None:
    stmt = select(JsapiOrder).where(JsapiOrder.out_trade_no == no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def _new_no(now: datetime) -> str:
    return "R" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()  # 23 chars


# ---- creating a recharge order -------------------------------------------------------------

def start_recharge(uow: UnitOfWork, client: WeChatPayClient, *, member_id: int, appid: str,
                   option_fen: int | None = None, amount_fen: int | None = None,
                   now: datetime | None = None) -> Checkout:
    """Use case: the member taps a rung of the ladder (`option_fen`) or types an amount.
    Writes the order (bonus fixed now), asks WeChat Pay for a prepay_id, and answers what
    wx.requestPayment needs. A WeChat Pay error marks the order failed and leaves as
    PayApiError (its Chinese message for the member); nothing is credited."""
    now = now or utcnow()
    order, reused = _open_order(uow, member_id, appid, option_fen, amount_fen, now)
    return prepay(uow, client, order, reused, member_id, appid)


def start_membership(uow: UnitOfWork, client: WeChatPayClient, *, member_id: int, appid: str,
                     product_id: int, now: datetime | None = None) -> Checkout:
    """Use case: the member buys a paid membership product: the same order, signing,
    reuse within a minute and errors as a recharge; paid_memberships credits it."""
    now = now or utcnow()
    attach = paid_memberships.attach_of(product_id)
    with uow.write() as session:
        member = _payer(session, member_id)
        product = paid_memberships.product_for_sale(session, product_id)
        order = _reusable(session, member_id, now, JsapiOrder.attach == attach)
        reused = order is not None
        if order is None:
            order = JsapiOrder(out_trade_no=_new_no(now), member_id=member_id, appid=appid,
                               openid=member.mini_openid, purpose=paid_memberships.MEMBERSHIP,
                               amount_fen=product.price_fen, bonus_fen=0, option_fen=None,
                               description=f"付费会员 {product.name}", attach=attach,
                               status="created", created_at=now, expires_at=now + OPEN_FOR)
            session.add(order)
            session.flush()
    return prepay(uow, client, order, reused, member_id, appid)


def prepay(uow: UnitOfWork, client: WeChatPayClient, order: JsapiOrder, reused: bool,
           member_id: int, appid: str) -> Checkout:
    if not reused:
        try:
            prepay = client.jsapi(appid=appid, description=order.description,
                                  out_trade_no=order.out_trade_no, total_fen=order.amount_fen,
                                  openid=order.openid, attach=order.attach,
                                  time_expire=order.expires_at.replace(tzinfo=timezone.utc)
                                  .astimezone(BEIJING).isoformat(timespec="seconds"))
        except PayApiError as exc:
            log.warning("%s %s of member %s refused by WeChat Pay: %s (%s)", order.purpose,
                        order.out_trade_no, member_id, exc.wx_code or "no answer", exc)
            settle(uow, order.out_trade_no, "failed", error=exc.wx_code or "NO_ANSWER")
            raise
        order = settle(uow, order.out_trade_no, "created", prepay_id=prepay)
    log.info("%s %s of member %s: %d fen (+%d bonus)%s", order.purpose, order.out_trade_no,
             member_id, order.amount_fen, order.bonus_fen, " reused" if reused else "")
    return Checkout(_view(order), client.request_payment(appid, order.prepay_id or ""), reused)


def _payer(session: Session, member_id: int) -> Member:
    member = lock_member(session, Member.id == member_id)
    if member is None:
        raise UnknownMember(f"no member {member_id}")
    if not member.mini_openid:
        raise NoMiniProgramOpenid(f"member {member_id} has no mini-program openid")
    return member


def _reusable(session: Session, member_id: int, now: datetime, same) -> JsapiOrder | None:
    """The member's open order for the same thing from the last minute (a second tap)."""
    return session.scalar(select(JsapiOrder).where(
        JsapiOrder.member_id == member_id, JsapiOrder.status == "created", same,
        JsapiOrder.prepay_id.is_not(None), JsapiOrder.created_at >= now - REUSE_WITHIN)
        .order_by(JsapiOrder.id.desc()).limit(1))


def _open_order(uow: UnitOfWork, member_id: int, appid: str, option_fen: int | None,
                amount_fen: int | None, now: datetime) -> tuple[JsapiOrder, bool]:
    if (option_fen is None) == (amount_fen is None):
        raise InvalidAmount("give a recharge option or an amount",
                            user_message="请选择充值档位或输入充值金额。")
    if amount_fen is not None and not (isinstance(amount_fen, int) and not isinstance(
            amount_fen, bool) and MIN_RECHARGE_FEN <= amount_fen <= MAX_RECHARGE_FEN):
        raise InvalidAmount(f"recharge amount {amount_fen!r} out of range", user_message=(
            f"充值金额须在 {MIN_RECHARGE_FEN // 100} 元至 {MAX_RECHARGE_FEN // 100} 元之间。"))
    with uow.write() as session:
        member = _payer(session, member_id)
        if option_fen is not None:
            option = session.scalar(select(RechargeOption).where(
                RechargeOption.amount_fen == option_fen, RechargeOption.active.is_(True)))
            if option is None:
                raise UnknownRechargeOption(f"no active recharge option of {option_fen} fen")
            open_order = _reusable(session, member_id, now, JsapiOrder.option_fen == option_fen)
            if open_order is not None:
                return open_order, True
            amount, bonus, text = option.amount_fen, option.bonus_fen, \
                stored_value.option_text(option)
        else:  # a typed amount: a second tap on the same amount, as a rung's
            open_order = _reusable(session, member_id, now, and_(
                JsapiOrder.purpose == RECHARGE, JsapiOrder.option_fen.is_(None),
                JsapiOrder.amount_fen == amount_fen))
            if open_order is not None:
                return open_order, True
            amount, bonus = amount_fen, stored_value.bonus_for(session, amount_fen)
            text = stored_value.recharge_text(amount, bonus)
        order = JsapiOrder(out_trade_no=_new_no(now), member_id=member_id, appid=appid,
                           openid=member.mini_openid, purpose=RECHARGE, amount_fen=amount,
                           bonus_fen=bonus, option_fen=option_fen,
                           description=f"会员储值 {text}", attach=RECHARGE, status="created",
                           created_at=now, expires_at=now + OPEN_FOR)
        session.add(order)
        session.flush()
        return order, False


def settle(uow: UnitOfWork, no: str, status: str, *, prepay_id: str | None = None,
           error: str | None = None, now: datetime | None = None) -> JsapiOrder:
    """Use case: record what WeChat Pay said of order `no`. A paid order stays paid. A
    store payment's order ending closed or failed gives back its coupon and points in
    this transaction (store_payment_state.ended)."""
    with uow.write() as session:
        order = order_by_no(session, no)
        if order is None:
            raise PaymentOrderNotFound(f"no WeChat Pay order {no}")
        member = None
        if order.purpose == STORE_PAY:  # the member first: the payments' lock order
            member = lock_member(session, Member.id == order.member_id)
        order = order_by_no(session, no, lock=True)
        if order.status != "paid":
            order.status = status
            order.prepay_id = prepay_id or order.prepay_id
            order.error = error or order.error
            if status == "closed":
                order.closed_at = now or utcnow()
            if member is not None and status in ("closed", "failed"):
                store_payment_state.ended(session, member, no, status, now or utcnow())
        order.checked_at = now or utcnow()
        return order


# ---- reading --------------------------------------------------------------------------------

def order_of(uow: UnitOfWork, member_id: int, no: str) -> OrderView:
    """Use case: one of the member's orders, for the mini-program's polling."""
    with uow.read() as session:
        order = order_by_no(session, no)
        if order is None or order.member_id != member_id:
            raise PaymentOrderNotFound(f"member {member_id} has no order {no}")
        return _view(order)
