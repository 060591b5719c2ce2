"""Subscribe-message grants: each time a member accepts a template in the mini-program's
wx.requestSubscribeMessage (`record`) or in the Official Account's subscribe-notice pop-up
(`oa_choices`, from the webhook's `subscribe_msg_popup_event`), WeChat allows us one message
of it; `subscribe_grant` counts what is left (pushes/deliveries.py spends them, and zeroes a
count WeChat refuses). A notice the follower turns off later in its settings
(`subscribe_msg_change_event`, reject) has nothing left.

WeChat gives no id for an acceptance, so a repeated report counts twice; a count that runs
ahead of WeChat's costs one refused send (43101), after which the count is zero again.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import func, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork, retrying
from wx_member.models import Member, SubscribeGrant
from wx_member.platform.errors import DomainError, UnknownMember

log = logging.getLogger(__name__)

TEMPLATE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
ACCEPT = "accept"
RESULTS = ("accept", "reject", "ban", "filter")  # wx.requestSubscribeMessage's answers
MAX_REMAINING = 1000  # a sanity bound on one member's grants for one template
MAX_TEMPLATES = 20  # distinct templates one member may hold grants for


class InvalidGrant(DomainError):
    code = "SUBSCRIPTION_INVALID"
    user_message = "订阅结果无效。"


def record(uow: UnitOfWork, member_id: int, results: dict[str, str]) -> dict[str, int]:
    """Use case: the member answered a subscribe request ({template id: accept | reject |
    ban | filter}, as wx.requestSubscribeMessage reports it). The template ids are the
    mini-program's own (it asks for them); bad shapes and more than MAX_TEMPLATES distinct
    templates per member are refused, and then nothing is written."""
    for template_id, answer in results.items():
        if not TEMPLATE_RE.match(template_id) or answer not in RESULTS:
            raise InvalidGrant(f"bad subscribe result {template_id!r}: {answer!r}")
    return retrying(f"subscribe grants of member {member_id}",
                    lambda: _record(uow, member_id, results))


def _record(uow: UnitOfWork, member_id: int, results: dict[str, str]) -> dict[str, int]:
    with uow.write() as session:
        if session.get(Member, member_id) is None:
            raise UnknownMember(f"no member {member_id}")
        held = set(session.scalars(select(SubscribeGrant.template_id)
                                   .where(SubscribeGrant.member_id == member_id)))
        if len(held | {t for t, a in results.items() if a == ACCEPT}) > MAX_TEMPLATES:
            raise InvalidGrant(f"more than {MAX_TEMPLATES} templates",
                               user_message="订阅的消息模板过多。")
        for template_id, answer in sorted(results.items()):
            if answer != ACCEPT:
                continue
            _add_one(session, member_id, template_id)
        return _remaining(session, member_id)


def _add_one(session: Session, member_id: int, template_id: str) -> None:
    """One more grant, as a single upsert: concurrent first acceptances of one template
    (several taps, several workers) both count. A read-then-insert with a savepoint lost
    the race on MariaDB: both transactions took a shared lock on the duplicate key, then
    both waited for the exclusive one (a deadlock); the upsert takes the exclusive lock at
    once. Templates are added in sorted order, so two requests lock rows in one order."""
    values = dict(member_id=member_id, template_id=template_id, remaining=1,
                  updated_at=utcnow())
    table = SubscribeGrant.__table__
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        stmt = mysql_insert(table).values(**values)
        stmt = stmt.on_duplicate_key_update(
            remaining=func.least(table.c.remaining + 1, MAX_REMAINING),
            updated_at=stmt.inserted.updated_at)
    else:
        stmt = sqlite_insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.member_id, table.c.template_id],
            set_={"remaining": func.min(table.c.remaining + 1, MAX_REMAINING),
                  "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)


def remaining(uow: UnitOfWork, member_id: int) -> dict[str, int]:
    """Use case: the grants the member has left, by template (a read: no write lock on
    SQLite)."""
    with uow.read() as session:
        return _remaining(session, member_id)


def _remaining(session: Session, member_id: int) -> dict[str, int]:
    if session.get(Member, member_id) is None:
        raise UnknownMember(f"no member {member_id}")
    return {t: n for t, n in session.execute(
        select(SubscribeGrant.template_id, SubscribeGrant.remaining)
        .where(SubscribeGrant.member_id == member_id).order_by(SubscribeGrant.template_id))}


def oa_choices(session: Session, openid: str, choices, withdrawable: bool) -> dict[str, int]:
    """Rule, in the webhook's once-only transaction: a follower's answers about the Official
    Account's subscribe notices (`choices`: template_id, status). Each accept of the pop-up
    is one grant more; with `withdrawable` (the notice settings), a reject leaves none.
    Templates over MAX_TEMPLATES per member are not recorded (logged). Returns the grants
    left of the templates named; {} for someone who is not a member."""
    member_id = session.scalar(select(Member.id).where(Member.openid == openid))
    if member_id is None:
        log.info("subscribe notice answer from %s, not a member: not recorded", openid)
        return {}
    held = set(session.scalars(select(SubscribeGrant.template_id)
                               .where(SubscribeGrant.member_id == member_id)))
    for c in sorted(choices, key=lambda c: c.template_id):
        if not TEMPLATE_RE.match(c.template_id):
            log.warning("subscribe notice template %r refused", c.template_id)
        elif c.status == ACCEPT and not withdrawable:
            if c.template_id not in held and len(held) >= MAX_TEMPLATES:
                log.warning("member %s holds grants of %s templates: %s not recorded",
                            member_id, MAX_TEMPLATES, c.template_id)
                continue
            _add_one(session, member_id, c.template_id)
            held.add(c.template_id)
        elif c.status != ACCEPT and withdrawable:
            session.execute(update(SubscribeGrant).where(
                SubscribeGrant.member_id == member_id,
                SubscribeGrant.template_id == c.template_id).values(
                    remaining=0, updated_at=utcnow()))
    names = {c.template_id for c in choices}
    return {t: n for t, n in _remaining(session, member_id).items() if t in names}
