"""The till's quote and purchase (issue 13): what a basket costs a member, and recording
the purchase once, all or nothing, whatever pays it.

`quote` (a read) prices the basket by payments/pricing.py and writes nothing. `record`
does, in ONE transaction that first locks the member (the payments' lock order): the
member's benefits on each line, the coupons redeemed (coupons/redeeming.py, one winner per
coupon), the points taken as cash off (loyalty/redemption.py), the payment parts checked
against the payable total, the stored value taken (ledger key `pay:<order>`), the WeChat
Pay parts claimed (payments/wechat_parts.py), then the purchase credited like any other
(`orders.credit_purchase`: points by tier and the day's multiplier on the money paid, the
spend, the tier move, the referrer's share), its lines and parts, and the till's request.

The till's order number is the idempotency key. It is per store: the order is recorded as
`S<store id>-<number>` (so two stores may use the same numbers, and a store's key cannot
reach another store's orders). The same number with the same body answers the first
answer again; with a different body it is refused (TILL_REQUEST_CONFLICT), nothing written.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import labels, statements
from wx_member.clock import local_day, utcnow
from wx_member.db import UnitOfWork, retrying, savepoint
from wx_member.coupons import redeeming
from wx_member.loyalty import earn_rules, redemption
from wx_member.models import Member, OrderLine, PaymentPart, TillRequest
from wx_member.payments import basket, cashier_desk, orders, pricing, stored_value, wechat_parts
from wx_member.platform.errors import DomainError, UnknownMember
from wx_member.platform.ledger import lock_member

API = "till"  # `pay_order.api` of a till's purchase
EARLIEST = timedelta(days=7)  # an offline till may send a purchase this late
LATEST = timedelta(minutes=5)  # ... and with its clock this far ahead


class TillRequestConflict(DomainError):
    code = "TILL_REQUEST_CONFLICT"
    user_message = "该单号已用于内容不同的请求。"


class MemberConsentRequired(DomainError):
    """Spending a member's coupons, points or stored value needs the member's code."""
    code = "MEMBER_CODE_REQUIRED"
    user_message = "使用优惠券、积分或储值需顾客出示动态会员码。"


def order_key(store_id: int | None, number: str) -> str:
    return f"S{store_id or 0}-{number}"


@dataclass(frozen=True)
class Basket:
    lines: list
    coupons: list
    points: int | None
    at: datetime


def read_basket(body: dict, tz: ZoneInfo, now: datetime) -> Basket:
    at = basket.moment(body.get("at"), tz, now)
    if not now - EARLIEST <= at <= now + LATEST:
        raise basket.InvalidBasket(f"time {at} too far from {now}",
                                   user_message="订单时间须在 7 天内，且不晚于当前时间。")
    return Basket(basket.lines(body.get("lines")), basket.coupons(body.get("coupons")),
                  basket.points(body.get("points")), at)


def _locked(session: Session, member_id: int | None) -> Member | None:
    """The member a purchase is recorded for, locked (None: a walk-in)."""
    if member_id is None:
        return None
    member = lock_member(session, Member.id == member_id)
    if member is None or member.erased_at is not None:
        raise UnknownMember(f"no member {member_id}")
    return member


def price(session: Session, member: Member | None, b: Basket, tz: ZoneInfo,
          options: bool = True, store_id: int | None = None) -> dict:
    return price_with_rule(session, member, b, tz, options, store_id)[0]


def price_with_rule(session: Session, member: Member | None, b: Basket, tz: ZoneInfo,
                    options: bool = True, store_id: int | None = None
                    ) -> tuple[dict, earn_rules.Multiplier]:
    """The quote of basket `b` for `member` (None: a walk-in; a quote's `pricing.member_of`
    row, or a purchase's locked Member), inside the caller's transaction, writing nothing:
    payments/pricing.py's steps in order. `options`: also the member's usable coupons and
    the most points usable (the quote; not a purchase)."""
    if member is None and (b.coupons or b.points):
        raise MemberConsentRequired("a walk-in cannot use coupons or points",
                                    user_message="非会员不能使用优惠券或积分。")
    day = local_day(b.at, tz)
    benefits = pricing.benefits_for(session, member.tier if member else None, day,
                                    [line.sku for line in b.lines])
    priced = pricing.price_lines(benefits, b.lines)
    lines_fen = sum(p.amount_fen for p in priced)
    applied = pricing.apply_coupons(session, member, b.coupons, lines_fen, b.at, store_id) \
        if b.coupons else []
    left = lines_fen - sum(off for _, _, off in applied)
    most = pricing.points_cash_off(session, member, left, None) if member and options \
        else (0, 0)
    used = pricing.points_cash_off(session, member, left, b.points) if b.points else (0, 0)
    payable = left - used[1]
    rule = pricing.multiplier(session, day, benefits)
    return {
        "member": None if member is None else {
            "card_no": member.card_no, "tier": member.tier,
            "tier_name": labels.tier_name(member.tier), "points": member.points_balance,
            "balance_fen": member.balance_fen},
        "lines": [p.as_dict() for p in priced],
        "list_fen": sum(p.list_fen for p in priced),
        "lines_fen": lines_fen,
        "coupons": [{"code": c, "amount_before_fen": before, "saving_fen": off}
                    for c, before, off in applied],
        "usable_coupons": pricing.usable_coupons(session, member, lines_fen, b.at, store_id)
        if member and options else [],
        "points_max": {"points": most[0], "fen": most[1]},
        "points_used": {"points": used[0], "fen": used[1]},
        "payable_fen": payable,
        "points_to_earn": pricing.points_for(session, member, payable, rule),
        "points_multiplier": rule.percent,
        "rounding": dict(pricing.ROUNDING),
    }, rule


def quote(uow: UnitOfWork, body: dict, *, member_id: int | None, store_id: int | None,
          tz: ZoneInfo, now: datetime | None = None) -> dict:
    """Use case (a read): the quote of the till's basket `body` (lines, coupons, points,
    at) for the member identified (None: a walk-in). Writes nothing."""
    b = read_basket(body, tz, now or utcnow())
    with uow.read() as session:
        member = None if member_id is None else pricing.member_of(session, member_id)
        return price(session, member, b, tz, store_id=store_id)


# ---- recording ---------------------------------------------------------------------------

def record(uow: UnitOfWork, body: dict, *, member_id: int | None, store_id: int | None,
           consent: bool, tz: ZoneInfo, now: datetime | None = None, by: str = "till",
           card_no: str | None = None) -> dict:
    """Use case: record the till's purchase `body` (order_no, at, lines, coupons, points,
    payments) once. `consent`: the member was identified by their member code, so their
    coupons, points and stored value may be spent. `card_no` instead of `member_id`: the
    member identified by card number inside the transaction, by the statement that locks
    them. Returns the answer (points earned, new points balance, tier, stored-value balance
    ...); `replayed` is True on a retry."""
    now = now or utcnow()
    number = basket.number(body.get("order_no"), "订单号")
    b = read_basket(body, tz, now)
    parts = basket.parts(body.get("payments"))
    out_trade_no = order_key(store_id, number)

    def digest(member: Member | None) -> str:  # the member as identified, however identified
        return basket.body_hash(store=store_id, member=member.id if member else None,
                                order=number, lines=b.lines, coupons=b.coupons,
                                points=b.points, parts=parts,
                                at=b.at if body.get("at") is not None else None)  # default now
    spends = b.coupons or b.points or any(p.method == "balance" for p in parts)
    if spends and not consent:
        raise MemberConsentRequired(f"order {number} spends without the member's code")

    def attempt() -> dict:
        for _ in range(2):  # again once when a notify claimed a WeChat part meanwhile
            try:
                with uow.write() as session:
                    member = cashier_desk.lock_by_card(session, card_no) if card_no \
                        else _locked(session, member_id)
                    return _record(session, b, parts, number, out_trade_no, digest(member),
                                   member, store_id, tz, now, by)
            except wechat_parts.ClaimedMeanwhile:
                continue
        raise AssertionError("unreachable")
    return retrying(f"till order {out_trade_no}", attempt)


def replay(session: Session, key: str, digest: str) -> dict | None:
    """The first answer to request `key`, or None when it is new; TillRequestConflict when
    it was made with another body."""
    done = session.scalar(select(TillRequest).where(TillRequest.idem_key == key))
    if done is None:
        return None
    if done.body_hash != digest:
        raise TillRequestConflict(f"{key} was made with another body")
    return {**done.answer, "replayed": True}


def claim_request(session: Session, key: str, store_id: int | None, digest: str,
                  now: datetime) -> TillRequest | None:
    """The request's row (its answer filled in later in the same transaction); None when a
    concurrent request took the key first (the caller answers with `replay`)."""
    row = TillRequest(idem_key=key, store_id=store_id, body_hash=digest, answer={},
                      created_at=now)
    try:
        with savepoint(session):
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


_REQUESTS = TillRequest.__table__
_CLAIM = insert(_REQUESTS)
_ANSWER = update(_REQUESTS).where(_REQUESTS.c.id == bindparam("request")).values(
    answer=bindparam("first_answer"))  # bind names unlike the columns' (SQLAlchemy's rule)


def claim_key(session: Session, key: str, store_id: int | None, digest: str,
              now: datetime) -> int | None:
    """The id of request `key`'s row, its answer written at the end of the transaction;
    None when the key is taken (a retry, or a concurrent request that committed first: on
    MariaDB the INSERT waits for it). A Core INSERT, so a duplicate fails alone (SQLite and
    MariaDB roll back the statement, not the transaction): no savepoint, no SELECT first."""
    try:
        return statements.run(session, _CLAIM, {"idem_key": key, "store_id": store_id,
                                                "body_hash": digest, "answer": {},
                                                "created_at": now}, insert=True).lastrowid
    except IntegrityError:
        return None


def _record(session: Session, b: Basket, parts: list, number: str, out_trade_no: str,
            digest: str, member: Member | None, store_id: int | None, tz: ZoneInfo,
            now: datetime, by: str) -> dict:
    key = f"order:{out_trade_no}"
    request_id = claim_key(session, key, store_id, digest, now)
    if request_id is None:  # a retry, or the same number sent again meanwhile
        return replay(session, key, digest)
    if member is None and any(p.method == "balance" for p in parts):
        raise MemberConsentRequired("a walk-in cannot pay from stored value",
                                    user_message="非会员不能使用储值支付。")
    quoted, rule = price_with_rule(session, member, b, tz, options=False, store_id=store_id)
    basket.check_adds_up(parts, quoted["payable_fen"])
    left = quoted["lines_fen"]
    for code in b.coupons:  # redeemed in order, each on what the ones before it left
        used = redeeming.redeem_in(session, code, member.card_no or member.openid,
                                   out_trade_no, left, b.at, store_id)
        left -= used.discount_fen
    if b.points:
        redemption.cash_off_in(session, member, out_trade_no, left, b.points, b.at,
                              store_id)
    for part in parts:
        if part.method == "balance":
            stored_value.post(session, member, -part.amount_fen, "pay", f"pay:{out_trade_no}",
                              out_trade_no, source=f"{by} {out_trade_no}"[:100])
    elsewhere = {i: wechat_parts.credited_elsewhere(session, p.out_trade_no, p.transaction_id)
                 for i, p in enumerate(parts) if p.method == "wechat"}
    credited = quoted["payable_fen"] - sum(parts[i].amount_fen for i, o in elsewhere.items() if o)
    payer = (member.openid or member.mini_openid or f"member:{member.id}") if member \
        else f"store:{store_id or 0}"
    result = orders.credit_purchase(
        session, member, order_no=out_trade_no, openid=payer, amount_fen=credited,
        paid_at=b.at, api=API, tz=tz, now=now, rule=rule, store_id=store_id,
        # cash, a bank card or Alipay at the counter is not an interaction with WeChat
        in_wechat=any(p.method == "wechat" for p in parts))
    if result is None:
        raise TillRequestConflict(f"order {out_trade_no} is already recorded otherwise",
                                  user_message="该单号已被其他订单使用。")
    order = result.order
    session.execute(insert(OrderLine), [
        {"order_id": order.id, "sku": line["sku"], "name": line["name"],
         "category": line["category"], "quantity": line["quantity"],
         "unit_price_fen": line["unit_price_fen"], "amount_fen": line["amount_fen"],
         "benefit": line["benefit"], "refunded_quantity": 0} for line in quoted["lines"]])
    for i, part in enumerate(parts):
        if part.method == "wechat":
            other = elsewhere[i]
            wechat_parts.claim(session, order, part.amount_fen, part.out_trade_no,
                               part.transaction_id, other.out_trade_no if other else None)
    plain = [{"order_id": order.id, "method": p.method, "amount_fen": p.amount_fen}
             for p in parts if p.method != "wechat"]
    if plain:  # one statement for all of them
        session.execute(insert(PaymentPart), plain)
    session.flush()
    answer = {
        "order_no": number, "store_id": store_id, "payable_fen": quoted["payable_fen"],
        "credited_fen": credited, "lines_fen": quoted["lines_fen"],
        "coupons": quoted["coupons"], "points_used": quoted["points_used"],
        "lines": quoted["lines"],
        "points_earned": result.points,
        "points_balance": member.points_balance if member else None,
        "tier": member.tier if member else None,
        "tier_name": labels.tier_name(member.tier) if member else None,
        "balance_fen": member.balance_fen if member else None,
        "replayed": False,
    }
    statements.run(session, _ANSWER, {"request": request_id, "first_answer": answer})
    return answer
