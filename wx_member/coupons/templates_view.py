"""Coupon templates as operators list them (`wx-member coupon template list`)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from wx_member.db import UnitOfWork
from wx_member.models import Coupon
from wx_member.coupons import store_scope, templates


def all_templates(uow: UnitOfWork) -> list[dict]:
    """Use case (read): every template, active or not, as `templates.as_dict` shows it,
    with the codes and names of the stores it is limited to (empty: every store)."""
    with uow.read() as session:
        rows = templates.all_templates(session)
        scope = store_scope.stores_of(session, [t.id for t in rows])
        return [{**templates.as_dict(t),
                 "stores": [{"code": s.code, "name": s.name} for s in scope.get(t.id, ())],
                 "where": store_scope.where_text(scope.get(t.id))} for t in rows]


def usage(uow: UnitOfWork) -> dict[int, dict[str, int]]:
    """Use case (read): per template, its coupons by status (available, used, expired,
    void) and in all ("issued"): what the console lists beside each template."""
    out: dict[int, dict[str, int]] = {}
    with uow.read() as session:
        for template_id, status, n in session.execute(
                select(Coupon.template_id, Coupon.status, func.count())
                .group_by(Coupon.template_id, Coupon.status)):
            counts = out.setdefault(template_id, {"issued": 0})
            counts[status] = int(n)
            counts["issued"] += int(n)
    return out


@dataclass(frozen=True)
class Listed:
    """What the console lists of the templates: the rows, and per template id the stores
    it is limited to (absent: every store)."""
    rows: list
    stores: dict
    open_stores: list


def listed(uow: UnitOfWork, store_id: int | None = None) -> Listed:
    """Use case (read): every template as its row, oldest first (the console's list), with
    their stores. `store_id` (a store-scoped operator's): only the templates usable there
    (every-store ones and those listing it)."""
    with uow.read() as session:
        rows = templates.all_templates(session)
        if store_id is not None:
            hidden = store_scope.hidden_from(session, store_id)
            rows = [t for t in rows if t.id not in hidden]
        return Listed(rows, store_scope.stores_of(session, [t.id for t in rows]),
                      store_scope.open_stores(session))


def store_ids_of(uow: UnitOfWork, template_id: int) -> list[int]:
    """Use case (read): the ids of the stores a template is limited to (the edit form)."""
    with uow.read() as session:
        return [s.id for s in store_scope.stores_of(session, [template_id]).get(template_id, ())]
