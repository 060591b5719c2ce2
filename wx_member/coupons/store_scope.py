"""Where a template's coupons can be used: the stores listed for it in
`coupon_template_store`, or every store when none is listed.

A redemption names the store it happens in (the till's key says which); a coupon limited
to other stores is refused there (CouponWrongStore, nothing written). A redemption with no
store (the CLI without `--store`, the old shared-key /api/cashier) may use only coupons
valid in every store (redeeming.py raises the refusal): a store-limited coupon is never spent where no store is known.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BindParameter, ColumnElement, bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.models import CouponTemplateStore, Store

EVERY_STORE = "全部门店可用"


# Built once (the wallet's lists and every coupon read ask it): the stores of some
# templates, as rows (id, code, name), not ORM objects.
_S, _CTS = Store.__table__, CouponTemplateStore.__table__
_STORES_OF = (select(_CTS.c.template_id, _S.c.id, _S.c.code, _S.c.name)
              .join(_S, _S.c.id == _CTS.c.store_id)
              .where(_CTS.c.template_id.in_(bindparam("ids", expanding=True)))
              .order_by(_S.c.code))


def stores_of(session: Session, template_ids: Iterable[int]) -> dict[int, list]:
    """Per template id, the stores it is limited to (rows of id, code and name), by code
    (absent: every store)."""
    ids = sorted(set(template_ids))
    out: dict[int, list] = {}
    if not ids:
        return out
    for row in statements.rows(session, _STORES_OF, {"ids": ids}):
        out.setdefault(row.template_id, []).append(row)
    return out


def where_text(stores: list | None) -> str:
    """Where the coupon can be used, in the member's words."""
    if not stores:
        return EVERY_STORE
    return f"限{'、'.join(s.name for s in stores)}使用"


def allows(stores: list | None, store_id: int | None) -> bool:
    return not stores or any(s.id == store_id for s in stores)


def limited(template_id: ColumnElement) -> ColumnElement:
    """As SQL: the template `template_id` lists stores (else it is usable in every one)."""
    return select(_CTS.c.store_id).where(_CTS.c.template_id == template_id).exists()


def allows_clause(template_id: ColumnElement, store_id: BindParameter) -> ColumnElement:
    """`allows` as SQL, for a query of coupons: the template `template_id` lists no store,
    or lists `store_id` (a NULL store: only templates listing none)."""
    listed = select(_CTS.c.store_id).where(_CTS.c.template_id == template_id,
                                           _CTS.c.store_id == store_id)
    return or_(~limited(template_id), listed.exists())


def refusal(session: Session, template_id: int, store_id: int | None) -> str | None:
    """None when the template's coupons can be used in `store_id`, else why not (Chinese;
    redeeming.py raises it as CouponWrongStore)."""
    stores = stores_of(session, [template_id]).get(template_id)
    if allows(stores, store_id):
        return None
    return f"该优惠券{where_text(stores)}，不能在本门店使用。"


def known_store_ids(session: Session, store_ids: Iterable[int]) -> set[int]:
    ids = set(store_ids)
    return set(session.scalars(select(Store.id).where(Store.id.in_(ids)))) if ids else set()


def store_ids_by_code(session: Session, codes: Iterable[str]) -> dict[str, int]:
    codes = {c.strip().upper() for c in codes}
    return dict(session.execute(select(Store.code, Store.id).where(Store.code.in_(codes))).all()) \
        if codes else {}


def replace(session: Session, template_id: int, store_ids: Iterable[int]) -> None:
    """The template's stores become `store_ids` (empty: every store)."""
    session.execute(delete(CouponTemplateStore)
                    .where(CouponTemplateStore.template_id == template_id))
    rows = [{"template_id": template_id, "store_id": s} for s in sorted(set(store_ids))]
    if rows:
        session.execute(insert(CouponTemplateStore), rows)


def open_stores(session: Session) -> list[Store]:
    """The stores an operator may pick for a template (open ones), by code."""
    return list(session.scalars(select(Store).where(Store.status == "open").order_by(Store.code)))


def hidden_from(session: Session, store_id: int) -> set[int]:
    """Template ids limited to some stores, but not to `store_id` (what a store-scoped
    operator does not see)."""
    limited = set(session.scalars(select(CouponTemplateStore.template_id)))
    mine = set(session.scalars(select(CouponTemplateStore.template_id)
                               .where(CouponTemplateStore.store_id == store_id)))
    return limited - mine
