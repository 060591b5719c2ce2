"""Coupons in members' wallets: issue once per cause, redeem once, expire, void.

Every state change is a `coupon_event` row with a unique idempotency key from its cause:
`issue:<cause>` (the cause itself is unique on the coupon: `signup:<member>`,
`birthday:<member>:<year>`, `campaign:<key>:<member>`, `operator:<key>`),
`redeem:<coupon>:<out_trade_no>`, `expire:<coupon>`, `void:<coupon>`,
`return:<coupon>:<out_refund_no>`. A coupon leaves `available` under a row lock, so two
cashiers redeeming one coupon at once cannot both win; the only way back is a full refund
of the order it was used on (coupon_returns.py). Bulk issuing (campaigns, birthdays) lives in
`coupon_campaigns.py`.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import UnitOfWork, insert_row, loaded
from wx_member.models import Coupon, CouponEvent, CouponTemplate, Member
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.coupons import stock, store_scope, templates
# The refusals live in refusals.py; imported here too, where callers have always found them.
from wx_member.coupons.refusals import (  # noqa: F401
    BelowMinimumSpend, CouponExpired, CouponNotFound, CouponNotYetValid, CouponNotYours,
    CouponRefused, CouponUsed, CouponVoid, CouponWrongStore, TierTooLow)
from wx_member.platform import audit, card_numbers, settings
from wx_member.platform.errors import InvalidAmount, UnknownMember

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: a code read aloud or typed at a till is not mistaken for another.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 31^12 ≈ 7.9e17: a collision is retried, never silently merged
EXPIRE_BATCH = 1000


@dataclass
class Redemption:
    coupon: Coupon
    discount_fen: int
    item: str | None  # an item coupon: what to hand over
    replayed: bool  # the same coupon and order again: nothing changed


_FAIR = 256 - 256 % len(CODE_ALPHABET)  # bytes below this map evenly onto the alphabet


def new_code() -> str:
    # One read of the system's randomness for the whole code (secrets.choice reads it once
    # a character: 12 system calls a coupon); bytes from _FAIR up are dropped, so every
    # character stays equally likely.
    chars: list[str] = []
    while len(chars) < CODE_LENGTH:
        chars += [CODE_ALPHABET[b % len(CODE_ALPHABET)]
                  for b in secrets.token_bytes(2 * CODE_LENGTH) if b < _FAIR]
    return "".join(chars[:CODE_LENGTH])


def holder(session: Session, openid_or_card: str, lock: bool = False) -> Member:
    """The member a cashier or the mini-program names, by openid or card number (a lost
    card's refused: CardLost; a merged duplicate's finds the survivor). `lock`:
    hold their row (FOR UPDATE) for a use case that moves a balance cached on it."""
    stmt = select(Member).where(or_(Member.openid == openid_or_card,
                                    Member.card_no == openid_or_card))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = session.scalar(stmt) or card_numbers.member_of_former(session, openid_or_card,
                                                                    lock=lock)
    if found is None:  # (a lost card's number raised CardLost just now)
        raise UnknownMember(f"no member with openid or card number {openid_or_card!r}")
    return found


def _event(session: Session, coupon: Coupon | dict, to_status: str, reason: str, key: str,
           now: datetime, from_status: str | None = None, **extra) -> None:
    get = coupon.get if isinstance(coupon, dict) else lambda k: getattr(coupon, k)
    insert_row(session, CouponEvent, coupon_id=get("id"), member_id=get("member_id"),
               from_status=from_status, to_status=to_status, reason=reason, idem_key=key,
               created_at=now, **extra)


# ---- issuing one coupon ----------------------------------------------------------------

def issue_in(session: Session, member: Member, template: CouponTemplate, cause: str,
             reason: str, now: datetime, note: str | None = None,
             refuse_sold_out: bool = False, as_row: bool = False) -> Coupon | dict | None:
    """Issue inside the caller's transaction. Returns the coupon, or None when `cause` was
    issued before (a replay), the member's tier is below the template's, or the template
    is sold out (`refuse_sold_out`: raise stock.SoldOut instead). `as_row`: the coupon's
    columns as written (a dict), for a caller that only reads them: no ORM object to build
    and add to the session (the join's sign-up coupon)."""
    if not templates.tier_allows(template, member.tier):
        log.info("coupon %s not issued to member %s: tier %s below %s", cause, member.id,
                 member.tier, template.min_tier)
        return None
    valid_from, valid_until = templates.validity(template, now)
    session.flush()  # Core statements do not autoflush; the member's row must exist
    if not stock.take_one(session, template.id):
        if refuse_sold_out:
            raise stock.sold_out(template)
        log.info("coupon %s not issued to member %s: template %s sold out", cause, member.id,
                 template.id)
        return None
    for _ in range(3):
        try:
            # No savepoint: a failed INSERT undoes only itself (SQLite and InnoDB alike).
            row = insert_row(session, Coupon, code=new_code(), template_id=template.id,
                             member_id=member.id, cause=cause, status="available",
                             issued_at=now, valid_from=valid_from, valid_until=valid_until)
        except IntegrityError:
            if session.scalar(select(Coupon.id).where(Coupon.cause == cause)) is not None:
                stock.give_back(session, template.id)  # nothing issued: the stock stays
                return None  # the cause was issued before, or just now by a racing event
            continue  # the code collided with another coupon's: draw again
        # Its key is the cause's, and coupons are never deleted: it cannot collide now that
        # the coupon's cause did not (if it did, the error ends the whole use case).
        _event(session, row, "available", reason, f"issue:{cause}", now, note=note)
        return row if as_row else loaded(session, Coupon, row)
    raise RuntimeError(f"could not draw a free coupon code for {cause}")


def describe(session: Session, coupon: Coupon) -> str:
    return templates.describe(session.get(CouponTemplate, coupon.template_id))


# Built once: every join reads the sign-up template (as a row: no ORM object to load).
_TEMPLATE = select(CouponTemplate.__table__).where(
    CouponTemplate.__table__.c.id == bindparam("template"))


def template_by_setting(session: Session, key: str,
                        as_row: bool = False) -> CouponTemplate | None:
    """The active template the setting `key` names, or None. `as_row`: a row of its
    columns (read by attribute like the object) for callers that only read it."""
    template_id = settings.get(session, key)
    if not template_id:
        return None
    if as_row:
        found = statements.fetch(session, _TEMPLATE, {"template": template_id})
        template = found[0] if found else None
    else:
        template = session.get(CouponTemplate, template_id)
    if template is None or not template.active:
        # Joining must not fail because an operator disabled the template: log and go on.
        log.warning("setting %s names coupon template %s, which is missing or disabled",
                    key, template_id)
        return None
    return template


def birthday_template_key(tier: str) -> str:
    """The setting naming a tier's birthday coupon (an unknown tier: 普通会员's)."""
    return f"tier_{tier if tier in settings.BIRTHDAY_TIERS else 'normal'}_birthday_coupon_template"


def issue_signup(session: Session, member: Member,
                 now: datetime | None = None) -> tuple[dict, str] | None:
    """The sign-up gift (setting `signup_coupon_template`, 0: none), once per member: its
    columns as written and what it is in the member's words. Runs in the join's
    transaction (members/joining.py) and the mini-program's first login."""
    template = template_by_setting(session, "signup_coupon_template", as_row=True)
    if template is None:
        return None
    coupon = issue_in(session, member, template, f"signup:{member.id}", "signup", now or utcnow(),
                      as_row=True)
    return (coupon, templates.describe(template)) if coupon else None


def issue_birthday_coupon(session: Session, member: Member, year: int,
                          now: datetime | None = None) -> Coupon | None:
    """The birthday gift of the member's tier (setting `tier_<tier>_birthday_coupon_template`,
    0: none), once per member and year, inside the caller's transaction."""
    template = template_by_setting(session, birthday_template_key(member.tier))
    if template is None:
        return None
    return issue_in(session, member, template, f"birthday:{member.id}:{year}", "birthday",
                    now or utcnow())


def issue(uow: UnitOfWork, openid_or_card: str, template_id: int, key: str, by: str,
          note: str | None = None, now: datetime | None = None) -> Coupon | None:
    """Use case: an operator gives a member a coupon, once per `key`. Returns None for a
    replayed key; raises TierTooLow when the member may not hold the template, SoldOut
    when the template has issued its limit."""
    if not key.strip() or len(key) > 100:
        raise InvalidAmount("a key of 1 to 100 characters is required",
                            user_message="请填写发券编号。")
    now = now or utcnow()
    with uow.write() as session:
        member = holder(session, openid_or_card)
        template = templates.active(session, template_id)
        if not templates.tier_allows(template, member.tier):
            raise TierTooLow(f"member {member.id} is {member.tier}, template {template_id} "
                             f"needs {template.min_tier}",
                             user_message=f"该优惠券限{tier_name(template.min_tier)}及以上。")
        if session.scalar(select(Coupon.id).where(Coupon.cause == f"operator:{key}")):
            return None  # the same form again: answered before the stock is looked at
        coupon = issue_in(session, member, template, f"operator:{key}", "operator", now,
                          note=f"{by}: {note}"[:100] if note else by[:100],
                          refuse_sold_out=True)
        if coupon is not None:
            audit.record(session, by, "coupon.issue", member.card_no or member.openid, None,
                         {"coupon": coupon.code, "name": template.name, "reason": note or None})
        return coupon


# ---- redeeming -------------------------------------------------------------------------

def _refuse_by_status(coupon: Coupon) -> None:
    errors = {"used": CouponUsed, "expired": CouponExpired, "void": CouponVoid}
    raise errors[coupon.status](f"coupon {coupon.code} is {coupon.status}")


def redeem(uow: UnitOfWork, code: str, openid_or_card: str, out_trade_no: str,
           amount_fen: int, now: datetime | None = None,
           store_id: int | None = None) -> Redemption:
    """Use case: use a coupon on an order of `amount_fen`. Returns the discount (fen).

    Checks owner, status, validity window, minimum spend, tier and store (`store_id`: where
    it is used; None: no store known, so only a coupon valid in every store); a refusal raises a
    CouponRefused (Chinese `user_message`) with nothing written. The same coupon on the
    same order again returns the first answer (`replayed`); on another order it is used.
    """
    check_redeem(out_trade_no, amount_fen)
    now = now or utcnow()
    with uow.write() as session:
        return redeem_in(session, code, openid_or_card, out_trade_no, amount_fen, now,
                         store_id)


def check_redeem(out_trade_no: str, amount_fen: int) -> None:
    """Raises InvalidAmount unless a redemption's order number and amount are usable."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidAmount(f"amount must be a positive number of fen, got {amount_fen!r}",
                            user_message="订单金额必须是正整数（分）。")
    if not out_trade_no or len(out_trade_no) > 64:
        raise InvalidAmount("an order number of 1 to 64 characters is required",
                            user_message="请填写订单号。")


def check_usable(coupon: Coupon, template: CouponTemplate, member: Member, amount_fen: int,
                 now: datetime) -> None:
    """Raises the CouponRefused that using `coupon` (of `member`) on an amount of
    `amount_fen` at `now` meets: status, validity window, minimum spend, tier. The till's
    quote asks the same questions as a redemption (payments/pricing.py)."""
    if coupon.status != "available":
        _refuse_by_status(coupon)
    if now < coupon.valid_from:
        raise CouponNotYetValid(f"coupon {coupon.code} valid from {coupon.valid_from}")
    if now >= coupon.valid_until:
        raise CouponExpired(f"coupon {coupon.code} expired at {coupon.valid_until}")
    if amount_fen < template.min_spend_fen:
        raise BelowMinimumSpend(
            f"order {amount_fen} fen below {template.min_spend_fen}",
            user_message=f"满{template.min_spend_fen / 100:g}元可用，本单未达到使用门槛。")
    if not templates.tier_allows(template, member.tier):
        raise TierTooLow(f"member {member.id} is {member.tier}, needs {template.min_tier}",
                         user_message=f"该优惠券限{tier_name(template.min_tier)}及以上使用。")


def check_store(session: Session, template: CouponTemplate, store_id: int | None) -> None:
    """Raises CouponWrongStore unless the template's coupons can be used in `store_id`."""
    why = store_scope.refusal(session, template.id, store_id)
    if why is not None:
        raise CouponWrongStore(f"template {template.id} is not usable in store {store_id}",
                               user_message=why)


def redeem_in(session: Session, code: str, openid_or_card: str, out_trade_no: str,
              amount_fen: int, now: datetime, store_id: int | None = None) -> Redemption:
    """`redeem` inside the caller's transaction, its arguments checked (check_redeem)."""
    member = holder(session, openid_or_card)
    # The row lock queues a second redemption of this coupon behind the first, which
    # then sees it used: exactly one wins.
    coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper())
                            .with_for_update().execution_options(populate_existing=True))
    if coupon is None:
        raise CouponNotFound(f"no coupon {code!r}")
    if coupon.member_id != member.id:
        raise CouponNotYours(f"coupon {code} belongs to member {coupon.member_id}")
    template = session.get(CouponTemplate, coupon.template_id)
    if coupon.status == "used" and coupon.order_no == out_trade_no \
            and coupon.order_fen == amount_fen:
        return Redemption(coupon, coupon.discount_fen, template.item, replayed=True)
    check_usable(coupon, template, member, amount_fen, now)
    check_store(session, template, store_id)
    if session.scalar(select(CouponEvent.id).where(
            CouponEvent.idem_key == f"redeem:{coupon.id}:{out_trade_no}")) is not None:
        raise CouponRefused(f"coupon {code} came back from refunded order {out_trade_no}",
                            user_message="该订单已退款，优惠券不能再用于此订单。")
    discount = templates.discount_fen(template, amount_fen)
    session.execute(update(Coupon).where(Coupon.id == coupon.id,
                                         Coupon.status == "available")
                    .values(status="used", used_at=now, order_no=out_trade_no,
                            order_fen=amount_fen, discount_fen=discount)
                    .execution_options(synchronize_session=False))
    _event(session, coupon, "used", "redeem", f"redeem:{coupon.id}:{out_trade_no}", now,
           from_status="available", order_no=out_trade_no, discount_fen=discount)
    session.refresh(coupon)
    return Redemption(coupon, discount, template.item, replayed=False)


# ---- void and expiry -------------------------------------------------------------------

def void(uow: UnitOfWork, code: str, note: str, by: str,
         now: datetime | None = None) -> Coupon:
    """Use case: an operator withdraws an available coupon (issued by mistake)."""
    if not note.strip():
        raise InvalidAmount("a reason is required", user_message="请填写作废原因。")
    now = now or utcnow()
    with uow.write() as session:
        coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper())
                                .with_for_update().execution_options(populate_existing=True))
        if coupon is None:
            raise CouponNotFound(f"no coupon {code!r}")
        if coupon.status != "available":
            _refuse_by_status(coupon)
        coupon.status = "void"
        _event(session, coupon, "void", "void", f"void:{coupon.id}", now,
               from_status="available", note=f"{by}: {note}"[:100])
        audit.record(session, by, "coupon.void", coupon.code, "available",
                     {"status": "void", "reason": note})
        return coupon


def expire_due(uow: UnitOfWork, now: datetime | None = None, batch: int = EXPIRE_BATCH) -> int:
    """Use case (daily job): every available coupon past its `valid_until` becomes expired,
    with an event each. Set-based, one transaction per batch of locked rows, so a
    redemption racing the job either wins before it or finds the coupon expired."""
    now = now or utcnow()
    total = 0
    while True:
        with uow.write() as session:
            rows = session.execute(
                select(Coupon.id, Coupon.member_id)
                .where(Coupon.status == "available", Coupon.valid_until <= now)
                .order_by(Coupon.id).limit(batch).with_for_update()).all()
            if not rows:
                return total
            ids = [r.id for r in rows]
            session.execute(update(Coupon).where(Coupon.id.in_(ids))
                            .values(status="expired").execution_options(synchronize_session=False))
            session.execute(insert(CouponEvent), [
                {"coupon_id": r.id, "member_id": r.member_id, "from_status": "available",
                 "to_status": "expired", "reason": "expire", "idem_key": f"expire:{r.id}",
                 "created_at": now} for r in rows])
            total += len(rows)


# ---- reading ---------------------------------------------------------------------------

def coupons_of(session: Session, member_id: int, limit: int = 100) -> list[tuple[Coupon, CouponTemplate]]:
    return list(session.execute(
        select(Coupon, CouponTemplate).join(CouponTemplate, Coupon.template_id == CouponTemplate.id)
        .where(Coupon.member_id == member_id).order_by(Coupon.id.desc()).limit(limit)).all())


def events_of(session: Session, coupon_id: int) -> list[CouponEvent]:
    return list(session.scalars(select(CouponEvent).where(CouponEvent.coupon_id == coupon_id)
                                .order_by(CouponEvent.id)))
