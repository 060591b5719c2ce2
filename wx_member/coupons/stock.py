"""A coupon template's stock: at most `stock_limit` coupons ever issued (None: unlimited).

`coupon_template.issued_count` counts every coupon issued (used, expired and void ones
included: a voided coupon does not go back to stock; an operator raises the limit instead).
It moves in the issuing transaction by a conditional UPDATE (`take_one`) or under the
template's row lock (`room`, then `taken`), so two issues of the last coupon at once
cannot both pass: the second waits for the first's commit and then finds no room. Every
way of issuing goes through here: an operator's single coupon (refused: SoldOut), bulk
campaigns and birthdays (skipped and counted), sign-up and win-back gifts (skipped, logged).
"""
from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select, update
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import UnitOfWork
from wx_member.models import CouponTemplate
from wx_member.coupons.templates import UnknownTemplate, check_limit
from wx_member.platform import audit
from wx_member.platform.errors import DomainError

_T = CouponTemplate.__table__
_ONE = literal_column("1")  # in the SQL, not a parameter (statements.run binds only ours)
# Built once (the sign-up gift takes one in every join's transaction).
_TAKE_ONE = (update(_T).where(_T.c.id == bindparam("template"),
                              (_T.c.stock_limit.is_(None))
                              | (_T.c.issued_count < _T.c.stock_limit))
             .values(issued_count=_T.c.issued_count + _ONE))
_GIVE_BACK = (update(_T).where(_T.c.id == bindparam("template"))
              .values(issued_count=_T.c.issued_count - _ONE))


class SoldOut(DomainError):
    code = "COUPON_SOLD_OUT"
    user_message = "该券已发完。"


def sold_out(template) -> SoldOut:
    return SoldOut(f"template {template.id} has issued all {template.stock_limit}",
                   user_message=f"「{template.name}」已发完（限量 {template.stock_limit} 张）。")


def take_one(session: Session, template_id: int) -> bool:
    """Count one more coupon of the template issued, if its stock allows; False (nothing
    written) when it is sold out. Holds the template's row until the transaction ends."""
    return statements.run(session, _TAKE_ONE, {"template": template_id}).rowcount == 1


def give_back(session: Session, template_id: int) -> None:
    """Undo `take_one` in the same transaction (the coupon turned out to be a replay)."""
    statements.run(session, _GIVE_BACK, {"template": template_id})


def room(session: Session, template_id: int) -> int | None:
    """Lock the template's row and say how many more coupons it may issue (None:
    unlimited). The caller issues at most that many, then reports them with `taken`."""
    limit, issued = session.execute(
        select(_T.c.stock_limit, _T.c.issued_count).where(_T.c.id == template_id)
        .with_for_update()).one()
    return None if limit is None else max(limit - issued, 0)


def taken(session: Session, template_id: int, n: int) -> None:
    if n:
        session.execute(update(_T).where(_T.c.id == template_id)
                        .values(issued_count=_T.c.issued_count + n))


def set_limit(uow: UnitOfWork, template_id: int, limit: int | None,
              by: str = "cli") -> CouponTemplate:
    """Use case: change how many coupons a template may issue in all (None: unlimited),
    also once members hold it; never below what it has issued (audited)."""
    with uow.write() as session:
        template = session.get(CouponTemplate, template_id, with_for_update=True,
                               populate_existing=True)
        if template is None:
            raise UnknownTemplate(f"no coupon template {template_id}")
        check_limit(limit, template.issued_count)
        if template.stock_limit != limit:
            shown = lambda n: "不限量" if n is None else n  # noqa: E731 (as templates' audit)
            audit.record(session, by, "coupon_template.limit", f"coupon_template:{template.id}",
                         {"name": template.name, "limit": shown(template.stock_limit),
                          "issued": template.issued_count},
                         {"name": template.name, "limit": shown(limit),
                          "issued": template.issued_count})
        template.stock_limit = limit
        return template
