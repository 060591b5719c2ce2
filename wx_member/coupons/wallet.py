"""Coupons into members' wallets: issue once per cause; find a coupon's holder; read a wallet.

Every state change is a `coupon_event` row with a unique idempotency key from its cause:
`issue:<cause>` (the cause itself is unique on the coupon: `signup:<member>`,
`birthday:<member>:<year>`, `campaign:<key>:<member>`, `operator:<key>`),
`redeem:<coupon>:<out_trade_no>`, `expire:<coupon>`, `void:<coupon>`,
`return:<coupon>:<out_refund_no>`. Issuing lives here; a coupon leaving `available`
(redeemed, voided, expired) in redeeming.py, and the way back in returns.py. Bulk issuing
(campaigns, birthdays) lives in bulk_issue.py.
"""
from __future__ import annotations

import logging
import secrets
from collections import namedtuple
from datetime import datetime

from sqlalchemy import DateTime, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import UnitOfWork
from wx_member.models import Coupon, CouponEvent, CouponTemplate, Member
from wx_member.labels import tier_name
from wx_member.clock import utcnow
from wx_member.coupons import stock, store_scope, templates
from wx_member.coupons.refusals import TierTooLow
from wx_member.platform import audit, card_numbers, settings
from wx_member.platform.errors import InvalidAmount, UnknownMember
from wx_member.row_writes import insert_row, loaded

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: a code read aloud or typed at a till is not mistaken for another.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 31^12 ≈ 7.9e17: a collision is retried, never silently merged

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


def gift_template_key(tier: str, gift: str = "birthday") -> str:
    """The setting naming a tier's `gift` coupon, `birthday` or `monthly` (an unknown
    tier: 普通会员's)."""
    return f"tier_{tier if tier in settings.BIRTHDAY_TIERS else 'normal'}_{gift}_coupon_template"


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
    template = template_by_setting(session, gift_template_key(member.tier))
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


# ---- reading ---------------------------------------------------------------------------

def coupons_of(session: Session, member_id: int, limit: int = 100) -> list[tuple[Coupon, CouponTemplate]]:
    return list(session.execute(
        select(Coupon, CouponTemplate).join(CouponTemplate, Coupon.template_id == CouponTemplate.id)
        .where(Coupon.member_id == member_id).order_by(Coupon.id.desc()).limit(limit)).all())


# A coupon and its template read as rows on the cursor (statements.fetch), not as two ORM
# objects a coupon: one SELECT of `COLUMNS`, each row split by `pairs`. The wallet's lists
# (wallet_view.py) and every quote's usable coupons read them so.
_C, _T = Coupon.__table__, CouponTemplate.__table__
CouponRow = namedtuple("CouponRow", [c.key for c in _C.c])
TemplateRow = namedtuple("TemplateRow", [c.key for c in _T.c])
COLUMNS = (*_C.c, *_T.c)
_SPLIT, _END = len(_C.c), len(_C.c) + len(_T.c)


def pairs(rows) -> list[tuple[CouponRow, TemplateRow]]:
    """Rows that begin with `COLUMNS` (a query may add its own after them)."""
    return [(CouponRow._make(r[:_SPLIT]), TemplateRow._make(r[_SPLIT:_END])) for r in rows]


# Built once (every quote reads it). Where a template may be used is store_scope.py's rule
# (no store listed: every store), asked in the same query.
_USABLE_IN = (select(*COLUMNS).join(_T, _C.c.template_id == _T.c.id)
              .where(_C.c.member_id == bindparam("member"), _C.c.status == "available",
                     _C.c.valid_until > bindparam("now", type_=DateTime),
                     store_scope.allows_clause(_C.c.template_id, bindparam("store")))
              .order_by(_C.c.valid_until, _C.c.id).limit(bindparam("rows")))


def usable_in(session: Session, member_id: int, now: datetime, store_id: int | None,
              limit: int = 200) -> list[tuple[CouponRow, TemplateRow]]:
    """The member's coupons usable by date now in store `store_id` (None: where no store
    is known, so only coupons valid in every store), soonest to lapse first: all of them,
    not the newest N of every status (a member with many used coupons still sees an old
    one they can use). Read-only rows: a coupon to change is read again under its lock."""
    return pairs(statements.fetch(session, _USABLE_IN, {
        "member": member_id, "now": now, "store": store_id, "rows": limit}))


def events_of(session: Session, coupon_id: int) -> list[CouponEvent]:
    return list(session.scalars(select(CouponEvent).where(CouponEvent.coupon_id == coupon_id)
                                .order_by(CouponEvent.id)))
