"""到店买单, before paying: the open stores, and what an amount typed at a store costs a
member (the quote, a read). The pricing is the till's (payments/till_orders.py `price_with_rule`,
payments/pricing.py) on a one-line basket: no SKU, 到店消费, quantity 1, the amount typed as
its unit price. So the member's tier discount or member day applies exactly as at the
till, coupons are checked for this store (a coupon limited to other stores is refused and
not offered), and points are taken as cash off on what the coupon left.

不参与优惠金额 (`undiscounted_fen`, 0 to the amount): the part of the bill the cashier says
gets no discount (the till's excluded categories, 酒水, 烟). Only the rest is the basket's
line: that part gets no member benefit, counts towards no coupon (neither its minimum spend
nor its discount) and cannot be paid with points; it is added to what is paid, which earns
points whole (at the tier and the day's multiplier).

payments/store_payments.py prices the payment with the same `figures` inside its write
transaction, so a payment made when nothing changed costs what was quoted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wx_member import labels, statements
from wx_member.clock import utcnow
from wx_member.coupons import templates
from wx_member.db import UnitOfWork
from wx_member.loyalty import earn_rules
from wx_member.members.stores import UnknownStore
from wx_member.models import Member, Store
from wx_member.payments import pricing, till_orders
from wx_member.platform.errors import InvalidAmount

LINE = "到店消费"  # the basket's one line: its name and category
UNDISCOUNTED = "不参与优惠"  # the order's second line (name and category) when there is one
MAX_FEN = 50_000_000  # 500,000 yuan, as a recharge's most
STORE_GONE = "门店不存在或已停业。"
UNDISCOUNTED_NOT_FEN = "不参与优惠金额须为不小于 0 的金额。"


@dataclass(frozen=True)
class Figures:
    amount_fen: int  # typed
    undiscounted_fen: int  # of it, the part with no benefit, coupon or points
    member_fen: int  # the rest after the benefit, plus undiscounted_fen
    benefit: str | None  # its Chinese label
    benefit_kind: str | None  # tier | member_day | member_price (the order line's)
    coupon: dict | None  # {code, title, saving_fen}
    usable_coupons: list
    points_max: dict
    points_used: dict
    payable_fen: int
    points_to_earn: int
    rule: earn_rules.Multiplier


def check_amount(amount_fen) -> int:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) \
            or not 1 <= amount_fen <= MAX_FEN:
        raise InvalidAmount(f"store payment amount {amount_fen!r} out of range",
                            user_message=f"金额须在 0.01 元至 {MAX_FEN // 100} 元之间。")
    return amount_fen


def check_undiscounted(undiscounted_fen, amount_fen: int) -> int:
    """不参与优惠金额: None is 0; else an integer from 0 to `amount_fen` (InvalidAmount)."""
    if undiscounted_fen is None:
        return 0
    if not isinstance(undiscounted_fen, int) or isinstance(undiscounted_fen, bool) \
            or undiscounted_fen < 0:
        raise InvalidAmount(f"undiscounted amount {undiscounted_fen!r} is not 0 or more fen",
                            user_message=UNDISCOUNTED_NOT_FEN)
    if undiscounted_fen > amount_fen:
        raise InvalidAmount(f"undiscounted {undiscounted_fen} fen above {amount_fen}",
                            user_message="不参与优惠金额不能超过消费金额。")
    return undiscounted_fen


# Built once (every quote reads it): the store as a row on the cursor (statements.fetch),
# not an ORM object.
_S = Store.__table__
_OPEN_STORE = select(_S.c.id, _S.c.code, _S.c.name).where(
    _S.c.code == bindparam("code"), _S.c.status == "open")


class OpenStore(Protocol):
    """open_store's row: all a payment and its quote read of the store."""
    id: int
    code: str
    name: str


def open_store(session: Session, code: str) -> OpenStore:
    """The open store `code` (its id, code and name), else UnknownStore."""
    found = statements.fetch(session, _OPEN_STORE, {"code": (code or "").strip()})
    if not found:
        raise UnknownStore(f"no open store {code!r}", user_message=STORE_GONE)
    return found[0]


def coupon_code(raw: str | None) -> str | None:
    return (raw or "").strip().upper() or None


def _zhe(percent: int) -> str:
    """95 → "95", 90 → "9": how a discount is said (95 折, 9 折)."""
    return str(percent // 10) if percent % 10 == 0 else str(percent)


def _label(member: Member, line: dict) -> str | None:
    if line["benefit"] is None:
        return None
    if line["benefit"] == "member_price":
        return "会员价"
    name, percent = line["benefit_detail"].rsplit(" ", 1)  # "tier 95%", "<day name> 80%"
    if line["benefit"] == "tier":  # 金卡, not 金卡会员: the label is short
        name = labels.tier_name(member.tier).removesuffix("会员")
    return f"{name} {_zhe(int(percent.rstrip('%')))} 折"


def figures(session: Session, member: Member, store: OpenStore, amount_fen: int,
            coupon: str | None, points: int | None, tz: ZoneInfo, now: datetime,
            options: bool = True, undiscounted_fen: int = 0) -> Figures:
    """What `amount_fen` (`undiscounted_fen` of it 不参与优惠) at `store` costs `member` now
    with `coupon` and `points`, inside the caller's transaction, writing nothing; raises
    the coupon's or the points' refusal. `options`: also the usable coupons and the most
    points (the quote)."""
    discountable = amount_fen - undiscounted_fen
    if not discountable and (coupon or points):
        raise InvalidAmount("nothing discountable for a coupon or points",
                            user_message="全部金额不参与优惠，不能使用优惠券或积分。")
    basket = till_orders.Basket([pricing.Line("", LINE, LINE, 1, discountable)],
                                [coupon] if coupon else [], points or None, now)
    quoted, rule = till_orders.price_with_rule(session, member, basket, tz, options, store.id)
    line = quoted["lines"][0]
    payable, to_earn = quoted["payable_fen"], quoted["points_to_earn"]
    if undiscounted_fen:  # paid in full, and earning like any money paid
        payable += undiscounted_fen
        to_earn = pricing.points_for(session, member, payable, rule)
    asked = None
    if coupon:
        _, template = pricing.coupon_of(session, member, coupon)
        applied = quoted["coupons"][0]
        asked = {"code": applied["code"], "title": templates.describe(template),
                 "saving_fen": applied["saving_fen"]}
    return Figures(amount_fen, undiscounted_fen, quoted["lines_fen"] + undiscounted_fen,
                   _label(member, line), line["benefit"], asked,
                   [{"code": c["code"], "title": c["text"], "saving_fen": c["saving_fen"]}
                    for c in quoted["usable_coupons"] if discountable],
                   quoted["points_max"], quoted["points_used"], payable, to_earn, rule)


# ---- use cases (reads) ----------------------------------------------------------------

def stores(uow: UnitOfWork) -> list[dict]:
    """Use case: the open stores, by code (the pay page opened without a store)."""
    with uow.read() as session:
        return [{"code": s.code, "name": s.name, "city": s.city, "address": s.address}
                for s in session.scalars(select(Store).where(Store.status == "open")
                                         .order_by(Store.code))]


def quote(uow: UnitOfWork, member_id: int, store_code: str, amount_fen, *,
          coupon: str | None = None, points: int | None = None,
          undiscounted_fen: int | None = None, tz: ZoneInfo,
          now: datetime | None = None) -> dict:
    """Use case (a read): what `amount_fen` (`undiscounted_fen` of it 不参与优惠) at store
    `store_code` costs the member, with the coupon and points asked for, the coupons
    usable and the most points; writes nothing. Raises UnknownStore (or closed),
    InvalidAmount, the coupon's or points' refusal."""
    check_amount(amount_fen)
    undiscounted_fen = check_undiscounted(undiscounted_fen, amount_fen)
    now = now or utcnow()
    with uow.read() as session:
        store = open_store(session, store_code)
        member = pricing.member_of(session, member_id)
        f = figures(session, member, store, amount_fen, coupon_code(coupon), points, tz, now,
                    undiscounted_fen=undiscounted_fen)
        return {"store": {"code": store.code, "name": store.name},
                "amount_fen": f.amount_fen, "undiscounted_fen": f.undiscounted_fen,
                "member_fen": f.member_fen,
                "benefit_fen": f.amount_fen - f.member_fen, "benefit": f.benefit,
                "coupon": f.coupon, "usable_coupons": f.usable_coupons,
                "points_max": f.points_max, "points_used": f.points_used,
                "payable_fen": f.payable_fen, "points_to_earn": f.points_to_earn,
                "balance_fen": member.balance_fen}
