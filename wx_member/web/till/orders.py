"""/till/v1/quote, /till/v1/orders and /till/v1/orders/<no>/refunds: what a basket costs
the member at the counter, recording the purchase once, refunding it. The member is
identified inside the body (`member`, as /members/identify takes it); only the member code
allows spending their coupons, points or stored value. The rules are
payments/till_orders.py's and till_refunds.py's."""
from __future__ import annotations

from flask import g

from wx_member.payments import cashier_desk, till_orders, till_refunds
from wx_member.web.api.auth import secret_key
from wx_member.web.api.common import config
from wx_member.web.till.common import TILL_SECURITY, acting_for, blueprint, store_id
from wx_member.web.till.order_schemas import (OrderIn, OrderOut, QuoteIn, QuoteOut, RefundIn,
                                              RefundOut)

bp = blueprint("till_orders", __name__, "", "Till: quote, purchases, refunds")
# Schema instances, not classes: given a class, webargs builds a new schema (and its nested
# ones) for every request, a tenth of a purchase's CPU.
QUOTE_IN, ORDER_IN, REFUND_IN = QuoteIn(), OrderIn(), RefundIn()


def _member(body: dict) -> tuple[int | None, bool]:
    """(member id, may spend) of the body's `member`; (None, False) for a walk-in."""
    who = body.get("member")
    if not who:
        return None, False
    found = cashier_desk.identify(g.db, secret_key(), code=who.get("code"),
                                  card_no=who.get("card_no"), phone=who.get("phone"),
                                  card_last4=who.get("card_last4"))
    return found.id, found.can_spend


@bp.route("/quote", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.arguments(QUOTE_IN)
@bp.response(200, QuoteOut)
def quote(body):
    """The member's price of a basket: per line the one benefit applied (member price,
    member day or tier discount), the coupons usable with each one's saving, the most
    points usable as cash off, the payable total and the points it would earn, with every
    rounding stated. Writes nothing."""
    acting_for(body)
    member_id, _ = _member(body)
    return till_orders.quote(g.db, body, member_id=member_id, store_id=store_id(),
                             tz=config().tz)


@bp.route("/orders", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.alt_response(409, description="TILL_REQUEST_CONFLICT: the order number was used with "
                                  "another body; COUPON_USED, COUPON_WRONG_STORE (a coupon "
                                  "limited to other stores), INSUFFICIENT_BALANCE ...")
@bp.arguments(ORDER_IN)
@bp.response(200, OrderOut)
def record(body):
    """Record a purchase once (the order number is the idempotency key: the same body
    again answers the first answer), all or nothing: coupons used, points taken, stored
    value taken, points earned on the money paid, tier moved, referral share. Payment parts
    must add up to the payable total."""
    acting_for(body)
    who = body.get("member") or {}
    if set(who) == {"card_no"}:  # found and locked by card in the purchase's transaction
        return till_orders.record(g.db, body, member_id=None, card_no=who["card_no"],
                                  store_id=store_id(), consent=False, tz=config().tz,
                                  by=f"till {g.till.key_id}")
    member_id, consent = _member(body)
    return till_orders.record(g.db, body, member_id=member_id, store_id=store_id(),
                              consent=consent, tz=config().tz, by=f"till {g.till.key_id}")


@bp.route("/orders/<string:order_no>/refunds", methods=["POST"])
@bp.doc(security=TILL_SECURITY)
@bp.arguments(REFUND_IN)
@bp.response(200, RefundOut)
def refund(body, order_no):
    """Refund lines or an amount of one of this store's orders, once per refund number:
    points back in proportion, tier re-evaluated, stored value back first; coupons and
    cash-off points back on a full refund."""
    acting_for(body)
    return till_refunds.refund(g.db, order_no, body, store_id=store_id(), tz=config().tz,
                               by=f"till {g.till.key_id}")
