"""/till/v1/store (the key's own store) and /till/v1/members/identify (who is at the
counter)."""
from __future__ import annotations

from flask import g

from wx_member.labels import tier_name
from wx_member.payments import cashier_desk
from wx_member.web.api.auth import secret_key
from wx_member.web.api.limits import limiter
from wx_member.web.till.common import TILL_SECURITY, acting_for, blueprint, till
from wx_member.web.till.schemas import IdentifiedOut, IdentifyIn, StoreOut

bp = blueprint("till_members", __name__, "", "Till: its store, identifying a member")

# Misses (404) a till may have before identify refuses it for a while (429): a phone and
# four digits are a weak pair, so guessing them is slowed to a crawl; a key found guessing
# can be revoked.
IDENTIFY_MISSES = "10 per minute"


def _per_key() -> str:
    return f"till:{till().key_id}"


@bp.route("/store")
@bp.doc(security=TILL_SECURITY)
@bp.response(200, StoreOut)
def store():
    """The store this key acts for (check a till's setup)."""
    t = till()
    return {"code": t.store_code, "name": t.store_name, "key_id": t.key_id}


@bp.route("/members/identify", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.alt_response(404, description="MEMBER_NOT_IDENTIFIED: no member by what was given "
                                  "(which part was wrong is not said)")
@bp.alt_response(429, description="too many misses from this till")
@limiter.limit(IDENTIFY_MISSES, key_func=_per_key,
               deduct_when=lambda response: response.status_code == 404)
@bp.arguments(IdentifyIn)
@bp.response(200, IdentifiedOut)
def identify(body):
    """The member at the counter, by the dynamic member code, the card number, or a phone
    number with the last four digits of the card. Reads only."""
    acting_for(body)
    found = cashier_desk.identify(g.db, secret_key(), code=body.get("code"),
                                  card_no=body.get("card_no"), phone=body.get("phone"),
                                  card_last4=body.get("card_last4"))
    return {"card_no": found.card_no, "tier": found.tier, "tier_name": tier_name(found.tier),
            "points": found.points, "balance_fen": found.balance_fen, "phone": found.phone,
            "home_store": found.home_store_code, "home_store_name": found.home_store_name,
            "means": found.means, "can_spend": found.can_spend}
