"""The member's profile: name (姓名), birthday (settable once) and phone (through WeChat's
code)."""
from __future__ import annotations

from flask import g

from wx_member.clock import local_now
from wx_member.extensions import runtime
from wx_member.members import miniapp
from wx_member.web.api.auth import member_required
from wx_member.web.api.common import blueprint, config, member_id
from wx_member.web.api.schemas import BirthdayIn, NameIn, PhoneIn, ProfileOut

bp = blueprint("profile", __name__, "/api/me", "The member's profile", auth=member_required)


def _out(member):
    return {"card_no": member.card_no, "phone": member.phone, "name": member.name,
            "birthday": member.birthday.date() if member.birthday else None,
            "birthday_settable": member.birthday is None}


@bp.route("/profile")
@bp.response(200, ProfileOut)
def profile():
    """My profile."""
    return _out(miniapp.get(g.db, member_id()))


@bp.route("/profile/name", methods=["PUT"])
@bp.arguments(NameIn)
@bp.response(200, ProfileOut)
def name(body):
    """Set (or, empty, clear) my name: at most 30 characters."""
    return _out(miniapp.set_name(g.db, member_id(), body["name"]))


@bp.route("/profile/birthday", methods=["PUT"])
@bp.arguments(BirthdayIn)
@bp.response(200, ProfileOut)
def birthday(body):
    """Set my birthday; once set it cannot be changed here."""
    today = local_now(config().tz).date()
    return _out(miniapp.set_birthday(g.db, member_id(), body["birthday"], today))


@bp.route("/profile/phone", methods=["PUT"])
@bp.arguments(PhoneIn)
@bp.response(200, ProfileOut)
def phone(body):
    """Set my phone number from a getPhoneNumber code."""
    return _out(miniapp.set_phone(g.db, runtime().gateway, member_id(), body["code"]))
