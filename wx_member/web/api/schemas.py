"""Request and response shapes of the mini-program API (marshmallow): they validate input
and generate the OpenAPI document. Times are ISO 8601 in UTC ("Z"); local days are dates
in the programme's zone; money in fen, points as integers."""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from wx_member.clock import with_zone

SCENE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,64}$", error="letters, digits, '_' or '-', 1-64")


class UtcDateTime(fields.DateTime):
    """Naive UTC datetimes from the database, written with their zone."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = with_zone(value)
        return super()._serialize(value, attr, obj, **kwargs)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE  # a field we do not know is an error, not silently dropped


# -- login ------------------------------------------------------------------------------------
class LoginIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 128),
                         metadata={"description": "wx.login() code"})
    scene = fields.String(validate=SCENE, metadata={
        "description": "launch scene, e.g. ref_<card_no> from a referral: credits the referrer "
                       "when this login creates the member"})


class LoginOut(ma.Schema):
    token = fields.String(required=True, metadata={"description": "Bearer access token"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    expires_at = UtcDateTime(required=True)
    card_no = fields.String(required=True)
    created = fields.Boolean(required=True, metadata={"description": "a new member"})


# -- card -------------------------------------------------------------------------------------
class NextTierOut(ma.Schema):
    tier = fields.String(required=True)
    name = fields.String(required=True)
    threshold_fen = fields.Integer(required=True)
    remaining_fen = fields.Integer(required=True)
    progress_percent = fields.Integer(required=True)


class ExpiringOut(ma.Schema):
    date = fields.Date(required=True, attribute="expires_on",
                       metadata={"description": "the last local day they count"})
    points = fields.Integer(required=True)


class CardOut(ma.Schema):
    card_no = fields.String(required=True)
    tier = fields.String(required=True)
    tier_name = fields.String(required=True)
    points = fields.Integer(required=True)
    total_spend_fen = fields.Integer(required=True)
    balance_fen = fields.Integer(required=True, metadata={"description": "stored value (储值)"})
    next_tier = fields.Nested(NextTierOut, allow_none=True, required=True)
    expiring = fields.List(fields.Nested(ExpiringOut), required=True, metadata={
        "description": "up to 3 expiry dates, soonest first: the points of those lots not "
                       "yet spent (spending takes the soonest-expiring points first)"})


class PointsQuery(Strict):
    before = fields.Integer(validate=validate.Range(min=1, max=2**62),
                            metadata={"description": "cursor: next_before of the previous page"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 50))


class PointsEntryOut(ma.Schema):
    id = fields.Integer(required=True)
    delta = fields.Integer(required=True)
    reason = fields.String(required=True)
    reason_zh = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(allow_none=True)


class PointsPageOut(ma.Schema):
    entries = fields.List(fields.Nested(PointsEntryOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class TierChangeOut(ma.Schema):
    from_tier = fields.String(required=True)
    from_name = fields.String(required=True)
    to_tier = fields.String(required=True)
    to_name = fields.String(required=True)
    reason = fields.String(required=True)
    reason_zh = fields.String(required=True)
    at = UtcDateTime(required=True)


class TierHistoryOut(ma.Schema):
    changes = fields.List(fields.Nested(TierChangeOut), required=True)


# -- profile ----------------------------------------------------------------------------------
class ProfileOut(ma.Schema):
    card_no = fields.String(required=True)
    birthday = fields.Date(allow_none=True, required=True)
    birthday_settable = fields.Boolean(required=True)
    phone = fields.String(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True, metadata={"description": "姓名"})


class NameIn(Strict):
    name = fields.String(required=True, validate=validate.Length(0, 100), metadata={
        "description": "姓名, at most 30 characters; empty clears it"})


class BirthdayIn(Strict):
    birthday = fields.Date(required=True, metadata={"description": "YYYY-MM-DD; settable once"})


class PhoneIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 128),
                         metadata={"description": "getPhoneNumber button's code"})


# -- referrals --------------------------------------------------------------------------------
class ReferralCodeOut(ma.Schema):
    scene = fields.String(required=True)
    qr_url = fields.String(required=True, metadata={"description": "what the QR image encodes"})
    image_url = fields.String(required=True)
    expires_at = UtcDateTime(allow_none=True, required=True)


class RefereeOut(ma.Schema):
    card_hint = fields.String(required=True)
    joined_at = UtcDateTime(required=True)


class ReferralResultsOut(ma.Schema):
    referees = fields.Integer(required=True)
    points_earned = fields.Integer(required=True)
    recent = fields.List(fields.Nested(RefereeOut), required=True)


# -- subscriptions ----------------------------------------------------------------------------
class SubscriptionsIn(Strict):
    results = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)),
        values=fields.String(validate=validate.OneOf(("accept", "reject", "ban", "filter"))),
        required=True, validate=validate.Length(1, 10),
        metadata={"description": "wx.requestSubscribeMessage's answer: {template id: result}"})


class SubscriptionsOut(ma.Schema):
    remaining = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "template id → messages we may still send"})


# -- member code and cashier ------------------------------------------------------------------
class MemberCodeOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "show as a QR code"})
    expires_in = fields.Integer(required=True)
    expires_at = UtcDateTime(required=True)


class CashierIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 1024))


class CashierMemberOut(ma.Schema):
    card_no = fields.String(required=True)
    tier = fields.String(required=True)
    tier_name = fields.String(required=True)
    points = fields.Integer(required=True)


class CardLostOut(ma.Schema):
    card_no = fields.String(required=True, metadata={"description": "the new card number"})
    old_card_no = fields.String(required=True, metadata={
        "description": "the number now blocked: refused at the till"})
