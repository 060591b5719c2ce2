"""The member's card (with the stored-value balance), points history and tier history
(read-only)."""
from __future__ import annotations

from flask import g
from marshmallow import RAISE

from wx_member.members import card_view, cards
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, config, member_id
from wx_member.web.api.schemas import (CardLostOut, CardOut, PointsPageOut, PointsQuery,
                                       TierHistoryOut)

bp = blueprint("card", __name__, "/api/me", "The member's card, points and tiers",
               auth=member_required)


@bp.route("/card")
@bp.response(200, CardOut)
def card():
    """My card: number, tier and progress to the next, points and the soonest expiring
    (what is left of the oldest lots), stored-value balance."""
    return card_view.card(g.db, member_id(), config().tz)


@bp.route("/points")
@bp.arguments(PointsQuery, location="query", unknown=RAISE)  # webargs would drop unknowns
@bp.response(200, PointsPageOut)
def points(query):
    """My points history, newest first, paged by cursor."""
    entries, next_before = card_view.points_page(g.db, member_id(), query.get("before"),
                                                   query["limit"])
    return {"entries": entries, "next_before": next_before}


@bp.route("/tiers")
@bp.response(200, TierHistoryOut)
def tiers():
    """My tier changes, newest first."""
    return {"changes": card_view.tier_history(g.db, member_id())}


@bp.route("/card/lost", methods=["POST"])
@bp.response(200, CardLostOut)
def card_lost():
    """Report my card lost (挂失): its number is blocked at the till at once and a new
    number issued (补卡). Points, balance, coupons and history stay mine."""
    done = cards.report_lost(g.db, member_id(), "member")
    return {"card_no": done.card_no, "old_card_no": done.old_card_no}
