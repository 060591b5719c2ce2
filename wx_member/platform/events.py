"""Inbound WeChat events, each processed once.

WeChat retries an unanswered event up to three times, and two gunicorn workers may get the
same retry at once. The event's dedup key is inserted in the same transaction as its
effects: whichever insert loses the unique-key race rolls back everything it did.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, case, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member import statements
from wx_member.db import UnitOfWork, retrying
from wx_member.clock import utcnow
from wx_member.models import InboundEvent, Member
from wx_member.platform.errors import DomainError

log = logging.getLogger(__name__)

# What opens WeChat's 48-hour customer-service window (its list: a message sent, a menu
# click, a subscribe, a QR scan; a successful payment is `seen` by payments): these set
# both `last_seen_at` (activity) and `window_at` (the window).
WINDOW_OPENERS = {"subscribe", "subscribe_scan", "scan", "click", "scancode_push",
                  "scancode_waitmsg", "text", "image", "voice", "video", "shortvideo",
                  "location", "link"}
# What counts as the member interacting with us (活跃度, `last_seen_at`): the openers, and
# a tap on a link button of the menu (VIEW), which WeChat does not count for the window.
INTERACTIONS = WINDOW_OPENERS | {"view"}


class _Duplicate(Exception):
    pass


# Built once (this is every event's path); Core statements on the tables, see db.py.
_CLAIM = insert(InboundEvent.__table__)
_M = Member.__table__
_SEEN = update(_M).where(_M.c.openid == bindparam("who")).values(last_seen_at=bindparam("at"))
_OPENED = (update(_M).where(_M.c.openid == bindparam("who"))
           .values(last_seen_at=bindparam("at"), window_at=bindparam("at")))


_SEEN_BY_ACTION = "wx_event_seen"  # session.info: the openid whose activity the action wrote


def already_seen(session: Session, openid: str) -> None:
    """Called by an event's action that wrote the member's activity and 48-hour window
    itself (a new member's INSERT carries both): `process_once` skips its UPDATE of
    them, one statement fewer for a join."""
    session.info[_SEEN_BY_ACTION] = openid


def _claim(session: Session, dedup_key: str, kind: str, openid: str, now: datetime) -> None:
    """The transaction's first statement, so a lost race needs no savepoint: it rolls back
    a transaction that has done nothing else."""
    try:
        statements.run(session, _CLAIM, {"dedup_key": dedup_key, "kind": kind,
                                         "openid": openid, "received_at": now}, insert=True)
    except IntegrityError:
        raise _Duplicate from None


Reply = str | None | Callable[[], str | None]


def process_once(uow: UnitOfWork, dedup_key: str, kind: str, openid: str,
                 action: Callable[[Session], Reply],
                 now: datetime | None = None) -> str | None:
    """Use case: run `action` for an event unless it was processed before, in one write
    transaction with the event's record; `action` gets its Session and calls rules.

    Returns the reply text for the member: the action's, a DomainError's Chinese message
    (with nothing written), or None for a duplicate. An action may return a function that
    makes the text: it is called after the commit, so rendering holds no lock.
    """
    now = now or utcnow()
    # A deadlock: the action is re-run from scratch.
    return retrying(f"event {dedup_key}",
                    lambda: _process(uow, dedup_key, kind, openid, action, now))


def _process(uow: UnitOfWork, dedup_key: str, kind: str, openid: str,
             action: Callable[[Session], Reply], now: datetime) -> str | None:
    try:
        with uow.write() as session:
            session.info.pop(_SEEN_BY_ACTION, None)  # (an earlier try's)
            _claim(session, dedup_key, kind, openid, now)
            reply = action(session)
            seen_by_action = session.info.pop(_SEEN_BY_ACTION, None) == openid
            if kind in INTERACTIONS and not (seen_by_action and kind in WINDOW_OPENERS):
                session.flush()  # a Core statement does not autoflush (free when clean)
                statements.run(session, _OPENED if kind in WINDOW_OPENERS else _SEEN,
                               {"who": openid, "at": now})
        return reply() if callable(reply) else reply
    except _Duplicate:
        log.info("duplicate event %s ignored", dedup_key)
        return None
    except DomainError as exc:
        log.info("event %s refused: %s", dedup_key, exc)
        return exc.user_message


def seen(session: Session, member_id: int, at: datetime, window: bool = True) -> None:
    """Inside the caller's transaction: the member interacted at `at` outside the webhook
    (a successful WeChat Pay payment): activity, and with `window` WeChat's 48-hour
    customer-service window. Never moves either back in time (a late notify)."""
    session.flush()
    statements.run(session, _SEEN_WINDOW if window else _SEEN_ONLY, {"member": member_id,
                                                                    "at_": at})


def _latest(column, at):
    return case((column.is_(None), at), (column < at, at), else_=column)


_AT = bindparam("at_", type_=_M.c.last_seen_at.type)  # built once: every payment's path
_SEEN_ONLY = (update(_M).where(_M.c.id == bindparam("member"))
              .values(last_seen_at=_latest(_M.c.last_seen_at, _AT)))
_SEEN_WINDOW = _SEEN_ONLY.values(window_at=_latest(_M.c.window_at, _AT))
