"""What a member reads of their own coupons (the mini-program's 我的优惠券): read-only.

The status shown is the one in force now: an `available` coupon past its `valid_until`
is shown as expired although the daily expiry job (00:05 local) has not yet written it,
so a coupon issued for 30 × 24 h at 10:00 leaves the "available" list at 10:00, not at
the next midnight. Void coupons (withdrawn by an operator) are in no list; the member can
still open one by its code. Validity is given as local days (first and last, inclusive)
and as the exact UTC instant it ends. `stores` names the stores a coupon can be used in
(empty: every store) and `where` says it in words (全部门店可用 / 限人民广场店、国贸店使用).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, or_, select

from wx_member import labels, statements
from wx_member.db import UnitOfWork
from wx_member.models import Coupon, CouponTemplate
from wx_member.labels import tier_name
from wx_member.coupons import store_scope, templates, wallet
from wx_member.platform import paging
from wx_member.coupons.refusals import CouponNotFound
from wx_member.clock import local_day

LISTS = ("available", "used", "expired")
CODE = re.compile(r"^[A-Za-z0-9]{1,20}$")


@dataclass(frozen=True)
class Rules:
    kind: str  # amount_off | percent_off | item
    kind_zh: str
    min_spend_fen: int
    amount_off_fen: int | None
    percent_off: int | None
    cap_fen: int | None
    item: str | None
    min_tier: str | None
    min_tier_name: str | None


@dataclass(frozen=True)
class WalletCoupon:
    id: int
    code: str
    name: str
    text: str  # e.g. 满50减10，限银卡会员及以上
    status: str
    status_zh: str
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    valid_until: datetime  # UTC, exclusive: the exact end
    issued_at: datetime
    used_at: datetime | None
    order_no: str | None
    discount_fen: int | None
    rules: Rules
    stores: list[str]  # names of the stores it can be used in; empty: every store
    where: str


def _status_now(coupon: Coupon, now: datetime) -> str:
    if coupon.status == "available" and coupon.valid_until <= now:
        return "expired"
    return coupon.status


def _view(coupon: Coupon, template: CouponTemplate, now: datetime, tz: ZoneInfo,
          stores: list | None) -> WalletCoupon:
    status = _status_now(coupon, now)
    rules = Rules(template.kind, labels.COUPON_KINDS[template.kind], template.min_spend_fen,
                  template.amount_off_fen, template.percent_off, template.cap_fen, template.item,
                  template.min_tier, tier_name(template.min_tier) if template.min_tier else None)
    return WalletCoupon(
        id=coupon.id, code=coupon.code, name=template.name,
        text=templates.describe(template), status=status, status_zh=labels.COUPON_STATUS[status],
        first_day=local_day(coupon.valid_from, tz),
        last_day=local_day(coupon.valid_until - timedelta(seconds=1), tz),
        valid_until=coupon.valid_until, issued_at=coupon.issued_at, used_at=coupon.used_at,
        order_no=coupon.order_no, discount_fen=coupon.discount_fen, rules=rules,
        stores=[s.name for s in stores or ()], where=store_scope.where_text(stores))


# Built once (the mini-program reads a list every time 我的优惠券 opens): each list, with
# and without a cursor, as a Core SELECT of the coupon's and its template's columns
# (wallet.COLUMNS), run on the cursor (statements.fetch). Building the ORM query per call
# was a third of the request's CPU, its ORM execution another fifth.
_C, _T = Coupon.__table__, CouponTemplate.__table__


def _list_query(status: str, with_cursor: bool):
    now = bindparam("now")
    where = {"available": and_(_C.c.status == "available", _C.c.valid_until > now),
             "expired": or_(_C.c.status == "expired",
                            and_(_C.c.status == "available", _C.c.valid_until <= now)),
             "used": _C.c.status == "used"}[status]
    q = (select(*wallet.COLUMNS, store_scope.limited(_C.c.template_id).label("limited"))
         .join_from(_C, _T, _C.c.template_id == _T.c.id)
         .where(_C.c.member_id == bindparam("member"), where))
    if with_cursor:
        q = q.where(_C.c.id < bindparam("before"))
    return q.order_by(_C.c.id.desc()).limit(bindparam("rows"))


_LISTS = {(status, cursor): _list_query(status, cursor)
          for status in LISTS for cursor in (False, True)}


def page(uow: UnitOfWork, member_id: int, status: str, now: datetime, tz: ZoneInfo,
         before: int | None, limit: int) -> tuple[list[WalletCoupon], int | None]:
    """The member's coupons in one list (`available`, `used` or `expired`), newest first;
    returns the page and the next page's cursor (None on the last)."""
    if status not in LISTS:
        raise ValueError(f"status must be one of {LISTS}, got {status!r}")
    params = {"member": member_id, "now": now, "rows": limit + 1}  # one more: a next page?
    if before is not None:
        params["before"] = before
    with uow.read() as session:
        found = statements.fetch(session, _LISTS[status, before is not None], params)
        rows, next_before = paging.cut(found, limit, lambda row: row[0])
        pairs = wallet.pairs(rows)
        # Only templates that list stores need their names (most list none).
        scope = store_scope.stores_of(session, [t.id for (_, t), row in zip(pairs, rows)
                                                if row.limited])
    return [_view(c, t, now, tz, scope.get(t.id)) for c, t in pairs], next_before


def one(uow: UnitOfWork, member_id: int, code: str, now: datetime, tz: ZoneInfo) -> WalletCoupon:
    """One of the member's coupons by its code. Another member's code is answered exactly
    like a code that does not exist (CouponNotFound), so codes cannot be probed."""
    row = None
    if CODE.match(code or ""):
        with uow.read() as session:
            row = session.execute(
                select(Coupon, CouponTemplate)
                .join(CouponTemplate, Coupon.template_id == CouponTemplate.id)
                .where(Coupon.code == code.upper(), Coupon.member_id == member_id)).first()
            scope = store_scope.stores_of(session, [row[1].id]) if row else {}
    if row is None:
        raise CouponNotFound(f"member {member_id} has no coupon {code!r}")
    return _view(row[0], row[1], now, tz, scope.get(row[1].id))
