"""Subscribe-message grants the member gave in the mini-program."""
from __future__ import annotations

from flask import g

from wx_member.pushes import subscriptions
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.schemas import SubscriptionsIn, SubscriptionsOut

bp = blueprint("subscriptions", __name__, "/api/me/subscriptions", "Subscribe-message grants",
               auth=member_required)


@bp.route("", methods=["GET"])
@bp.response(200, SubscriptionsOut)
def remaining():
    """Messages we may still send me, per template."""
    return {"remaining": subscriptions.remaining(g.db, member_id())}


@bp.route("", methods=["POST"])
@bp.arguments(SubscriptionsIn)
@bp.response(200, SubscriptionsOut)
def record(body):
    """Record my answer to wx.requestSubscribeMessage: each accept allows one message."""
    return {"remaining": subscriptions.record(g.db, member_id(), body["results"])}
