"""The member's referral QR code and what it brought."""
from __future__ import annotations

from flask import g

from wx_member.extensions import runtime
from wx_member.members import referral_codes
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, member_id
from wx_member.web.api.schemas import ReferralCodeOut, ReferralResultsOut

bp = blueprint("referrals", __name__, "/api/me/referral", "Referral code and results",
               auth=member_required)


@bp.route("/code")
@bp.response(200, ReferralCodeOut)
def code():
    """My referral QR code (scene ref_<card_no>), made through WeChat on first use."""
    return referral_codes.code_for(g.db, runtime().gateway, member_id())


@bp.route("/results")
@bp.response(200, ReferralResultsOut)
def results():
    """How many joined through my code and the points it earned me."""
    return referral_codes.results(g.db, member_id())
