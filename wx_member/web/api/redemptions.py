"""积分兑换: the gift catalogue, redeeming a gift (once per Idempotency-Key, rate-limited
per member) and the member's redemptions."""
from __future__ import annotations

from flask import g
from marshmallow import RAISE

from wx_member.loyalty import redemptions_view
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.limits import limiter, per_member, redeem_limit
from wx_member.web.api.wallet_schemas import (GiftsOut, IdempotencyHeader, PageQuery, RedeemIn,
                                              RedeemedOut, RedemptionOut, RedemptionsPageOut)

bp = blueprint("redemptions", __name__, "/api", "Gifts for points", auth=member_required)


@bp.route("/gifts")
@bp.response(200, GiftsOut)
def gifts():
    """The gift catalogue, cheapest first, with stock."""
    return {"gifts": redemptions_view.gifts(g.db)}


@bp.route("/me/redemptions", methods=["POST"])
@bp.alt_response(429, description="too many redemptions by this member")
@limiter.limit(redeem_limit, key_func=per_member)
@bp.arguments(IdempotencyHeader, location="headers")
@bp.arguments(RedeemIn)
@bp.response(200, RedeemedOut)
def redeem(header, body):
    """Redeem points for a gift. Send a new Idempotency-Key per tap and the same one on a
    retry: a key redeems once, its replays answer the first result with `replayed` true."""
    return redemptions_view.redeem(g.db, member_id(), body["gift_id"], header["key"],
                                     body["quantity"])


@bp.route("/me/redemptions")
@bp.arguments(PageQuery, location="query", unknown=RAISE)
@bp.response(200, RedemptionsPageOut)
def redemptions(query):
    """My redemptions (gifts and points off orders), newest first, paged by cursor."""
    found, next_before = redemptions_view.page(g.db, member_id(), query.get("before"),
                                                 query["limit"])
    return {"redemptions": found, "next_before": next_before}


@bp.route("/me/redemptions/<int:redemption_id>")
@bp.response(200, RedemptionOut)
def redemption(redemption_id: int):
    """One of my redemptions (404 REDEMPTION_NOT_FOUND for any other id)."""
    return redemptions_view.one(g.db, member_id(), redemption_id)
