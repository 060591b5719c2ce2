"""The member's coupons (我的优惠券): three lists and one coupon by its code. Read-only;
coupons are used at the till (cashier.py)."""
from __future__ import annotations

from flask import g
from marshmallow import RAISE

from wx_member.coupons import wallet_view
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, config, member_id, now
from wx_member.web.api.wallet_schemas import CouponOut, CouponsPageOut, CouponsQuery

bp = blueprint("coupons", __name__, "/api/me/coupons", "The member's coupons",
               auth=member_required)


@bp.route("")
@bp.arguments(CouponsQuery, location="query", unknown=RAISE)
@bp.response(200, CouponsPageOut)
def coupons(query):
    """My coupons in one list (available, used or expired), newest first, paged by cursor."""
    found, next_before = wallet_view.page(g.db, member_id(), query["status"], now(),
                                            config().tz, query.get("before"), query["limit"])
    return {"coupons": found, "next_before": next_before}


@bp.route("/<code>")
@bp.response(200, CouponOut)
def coupon(code: str):
    """One of my coupons by its code (404 COUPON_NOT_FOUND for any other code)."""
    return wallet_view.one(g.db, member_id(), code, now(), config().tz)
