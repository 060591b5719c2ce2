"""Deliveries: every push is a row before it is an HTTP call, and is sent at most once.

Sending, batch by batch:
1. claim (one transaction): due `queued` rows become `sending` with a claim token and
   `claimed_until`; a second sender's UPDATE finds them no longer queued and skips them.
2. send (no transaction open): the calls, from a small thread pool on kept-alive
   connections.
3. record (one transaction): `sent` with the msgid, or the failure's status, by claim.

The window: a process killed between 1 and 3 leaves rows `sending`. WeChat has no
idempotency key for template messages, so whether those calls reached it cannot be
known; once `claimed_until` has passed they become `unknown` and are NOT sent again
(never twice beats maybe-lost for marketing and for notices alike). The window is one
batch (`BATCH` rows) per killed sender; every row not yet claimed, and every member not
yet planned, is sent after a restart. A read timeout is `unknown` for the same reason:
WeChat may have delivered it. Failures that certainly did not reach WeChat (connection
refused, HTTP 5xx, 45009 quota, -1 busy) go back to `queued` with a backoff.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from wx_member import row_writes
from wx_member.clock import to_local, utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Delivery, Member, MemberReach, SubscribeGrant
from wx_member.platform import settings
from wx_member.pushes import mass_sends
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)

BATCH = 200
WORKERS = 8
CLAIM = timedelta(minutes=10)  # far longer than a batch takes, even with every call timing out
BACKOFF = (60, 300, 1800, 7200, 21600)  # seconds, by attempt
MAX_ATTEMPTS = 6
WINDOW_48H = timedelta(hours=48)
RETRY_ERRCODES = {-1, 45009, 45011, 40001, 40014, 42001}  # busy, quota, token trouble
UNREACHABLE = {43004: "43004 not following the account"}
OA_CHANNELS = ("template", "bizsend", "custom", "mass")  # what 43004 closes
GRANTED = ("subscribe", "bizsend")  # each send uses one of the member's one-time grants
TABLE = Delivery.__table__


# -- planning ---------------------------------------------------------------------------
def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Plan rows inside the caller's transaction; an (openid, kind, occasion) already
    planned is left alone, so planning twice (two processes, a restart) adds nothing."""
    row_writes.insert_ignoring_duplicates(session, TABLE, rows)


# -- quiet hours ------------------------------------------------------------------------
def in_quiet_hours(session: Session, now: datetime, tz: ZoneInfo) -> bool:
    """Quiet from `quiet_start_hour` to `quiet_end_hour`, local (21 → 9 wraps midnight)."""
    start, end = settings.get(session, "quiet_start_hour"), settings.get(session, "quiet_end_hour")
    if start == end:
        return False
    hour = to_local(now, tz).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


# -- sending ----------------------------------------------------------------------------
@dataclass
class SendStats:
    counts: Counter = field(default_factory=Counter)
    stopped: str | None = None  # why a run stopped early (quota)

    @property
    def sent(self) -> int:
        return self.counts["sent"]


@dataclass
class _Result:
    id: int
    status: str
    msgid: int | None = None
    error: str | None = None
    retry: bool = False
    errcode: int | None = None


def recover_stale(session: Session, now: datetime) -> int:
    """In the caller's transaction: rows left `sending` by a sender that died become
    `unknown` (see above)."""
    return session.execute(
        update(TABLE).where(TABLE.c.status == "sending", TABLE.c.claimed_until < now)
        .values(status="unknown", finished_at=now,
                error="interrupted while sending: may have reached WeChat, not resent")
    ).rowcount


def _claim(session: Session, now: datetime, limit: int, urgent_only: bool,
           kinds: list[str] | None) -> tuple[list[Any], str, list[_Result]]:
    """In the caller's transaction. Returns the rows to send, the claim token and the rows
    skipped by the precheck."""
    token = uuid.uuid4().hex
    due = (select(TABLE.c.id).where(TABLE.c.status == "queued", TABLE.c.next_attempt_at <= now)
           .order_by(TABLE.c.next_attempt_at, TABLE.c.id).limit(limit))
    # Mass rows go out together, by openid list (pushes/mass_sends.py), not one by one.
    due = due.where(TABLE.c.channel != "mass")
    if urgent_only:
        due = due.where(TABLE.c.urgent.is_(True))
    if kinds:
        due = due.where(TABLE.c.kind.in_(kinds))
    ids = list(session.scalars(due))
    if not ids:
        return [], token, []
    session.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.status == "queued")
                    .values(status="sending", claim=token, claimed_until=now + CLAIM,
                            attempts=TABLE.c.attempts + 1))
    rows = session.execute(
        select(TABLE.c.id, TABLE.c.member_id, TABLE.c.openid, TABLE.c.channel,
               TABLE.c.payload, TABLE.c.attempts, Member.window_at)
        .outerjoin(Member, Member.id == TABLE.c.member_id)
        # By id first: `claim` has no index, and a scan per batch made a million-row
        # fan-out quadratic.
        .where(TABLE.c.id.in_(ids), TABLE.c.claim == token)).all()
    ready, skipped = _precheck(session, rows, now)
    if skipped:
        _record(session, token, skipped, now)
    return ready, token, skipped


def _precheck(session: Session, rows: list[Any], now: datetime
              ) -> tuple[list[Any], list[_Result]]:
    """What WeChat would refuse anyway: outside the 48 h window, no subscription grant."""
    ready, skipped = [], []
    for row in rows:
        if row.channel == "custom" and row.member_id is not None and (
                row.window_at is None or now - row.window_at > WINDOW_48H):
            skipped.append(_Result(row.id, "skipped", error="outside the 48-hour window"))
        elif row.channel in GRANTED and row.member_id is not None and session.execute(
                update(SubscribeGrant).where(
                    SubscribeGrant.member_id == row.member_id,
                    SubscribeGrant.template_id == row.payload["template_id"],
                    SubscribeGrant.remaining > 0)
                .values(remaining=SubscribeGrant.remaining - 1)
                .execution_options(synchronize_session=False)).rowcount != 1:
            skipped.append(_Result(row.id, "skipped", error="no subscription grant left"))
        else:
            ready.append(row)
    return ready, skipped


def _call(gateway: WeChatGateway, row: Any) -> _Result:
    p = row.payload
    try:
        if row.channel == "template":
            msgid = gateway.send_template(row.openid, p["template_id"], p["data"],
                                          url=p.get("url"), miniprogram=p.get("miniprogram"))
            return _Result(row.id, "sent", msgid=msgid)
        if row.channel == "subscribe":
            gateway.send_subscribe(row.openid, p["template_id"], p["data"], page=p.get("page"))
        elif row.channel == "bizsend":
            gateway.send_bizsend(row.openid, p["template_id"], p["data"], page=p.get("page"),
                                 miniprogram=p.get("miniprogram"))
        else:
            gateway.send_text(row.openid, p["text"])
        return _Result(row.id, "sent")
    except GatewayError as exc:
        return _classify(row, exc)
    except Exception as exc:  # a bug or an unexpected answer: keep the batch going
        log.exception("delivery %s: unexpected failure", row.id)
        return _Result(row.id, "unknown", error=f"{type(exc).__name__}: {exc}"[:255])


def _classify(row: Any, exc: GatewayError) -> _Result:
    error, code = str(exc)[:255], exc.errcode
    if exc.maybe_sent:
        return _Result(row.id, "unknown", error=error, errcode=code)
    if code in UNREACHABLE:
        return _Result(row.id, "failed", error=error, errcode=code)
    if code in (43101, 45015):  # refused / outside 48 h: a fact, not a fault
        return _Result(row.id, "skipped", error=error, errcode=code)
    if code in RETRY_ERRCODES or code is None:  # None: HTTP 5xx, refused connection
        if row.attempts >= MAX_ATTEMPTS:
            return _Result(row.id, "failed", error=f"gave up after {row.attempts}: {error}"[:255],
                           errcode=code)
        return _Result(row.id, "queued", error=error, retry=True, errcode=code)
    return _Result(row.id, "failed", error=error, errcode=code)


def _record(session: Session, token: str, results: list[_Result], now: datetime,
            rows: dict[int, Any] | None = None) -> None:
    """Inside the caller's transaction. By claim: a row marked `unknown` by recovery
    meanwhile still gets the truth."""
    params = []
    for r in results:
        attempts = rows[r.id].attempts if rows else 1
        params.append({
            "b_id": r.id, "b_status": r.status, "b_msgid": r.msgid, "b_error": r.error,
            "b_sent": now if r.status == "sent" else None,
            "b_finished": now if r.status in ("failed", "skipped", "unknown") else None,
            "b_next": now + timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])
            if r.retry else now,
        })
    session.execute(update(TABLE).where(TABLE.c.id == bindparam("b_id"), TABLE.c.claim == token)
                    .values(status=bindparam("b_status"), msgid=bindparam("b_msgid"),
                            error=bindparam("b_error"), sent_at=bindparam("b_sent"),
                            finished_at=bindparam("b_finished"),
                            next_attempt_at=bindparam("b_next"), claimed_until=None),
                    params)
    if rows is None:
        return
    for r in results:
        row = rows[r.id]
        if r.errcode in UNREACHABLE and row.member_id:
            mark_unreachable(session, row.member_id, OA_CHANNELS, UNREACHABLE[r.errcode], now)
        if row.channel in GRANTED and row.member_id and (r.retry or r.errcode == 43101):
            # A retried send gets its grant back; 43101 says none is left at WeChat.
            stmt = update(SubscribeGrant).where(
                SubscribeGrant.member_id == row.member_id,
                SubscribeGrant.template_id == row.payload["template_id"])
            session.execute(stmt.values(remaining=SubscribeGrant.remaining + 1 if r.retry else 0)
                            .execution_options(synchronize_session=False))


def mark_unreachable(session: Session, member_id: int, channels: tuple[str, ...], reason: str,
                     now: datetime) -> None:
    """Inside the caller's transaction."""
    for channel in channels:
        if session.get(MemberReach, (member_id, channel)) is None:
            session.add(MemberReach(member_id=member_id, channel=channel, reason=reason, at=now))
    session.flush()


def send_due(uow: UnitOfWork, gateway: WeChatGateway, tz: ZoneInfo, *,
             now: datetime | None = None, limit: int | None = None, batch: int = BATCH,
             workers: int = WORKERS, kinds: list[str] | None = None) -> SendStats:
    """Use case, in batches: send what is due, batch by batch, until nothing is due,
    `limit` rows were handled or WeChat's quota ran out. Each batch is two transactions,
    the claim (with recovery and the quiet-hours check) and the record, with the calls to
    WeChat between them and no transaction open. `now` is fixed for the run (tests
    freeze it)."""
    fixed = now
    stats = SendStats()
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push") as pool:
        while limit is None or done < limit:
            now = fixed or utcnow()
            size = batch if limit is None else min(batch, limit - done)
            with uow.write() as session:
                stats.counts["unknown"] += recover_stale(session, now)
                quiet = in_quiet_hours(session, now, tz)
                rows, token, skipped = _claim(session, now, size, urgent_only=quiet,
                                              kinds=kinds)
            stats.counts.update(r.status for r in skipped)
            done += len(rows) + len(skipped)
            if not rows and not skipped:
                break
            results = list(pool.map(lambda row: _call(gateway, row), rows))
            with uow.write() as session:
                _record(session, token, results, fixed or utcnow(), {r.id: r for r in rows})
            stats.counts.update(r.status for r in results)
            if any(r.errcode == 45009 for r in results):
                stats.stopped = "45009 daily API quota reached"
                log.warning("push sending paused: %s", stats.stopped)
                break
    if stats.stopped is None and (limit is None or done < limit):
        with uow.read() as session:
            quiet = in_quiet_hours(session, fixed or utcnow(), tz)
        if not quiet:  # mass sends are marketing: never urgent
            stats.counts.update(mass_sends.send_due(uow, gateway, now=fixed, kinds=kinds))
    return stats


# -- WeChat's delivery report -----------------------------------------------------------
FINISH = {"success": "delivered"}


def template_finished(session: Session, openid: str, msgid: int, status: str,
                      now: datetime) -> int:
    """Inside the event's transaction (`process_once`): TEMPLATESENDJOBFINISH moves a sent
    row to delivered or failed; 'failed:user block' also marks the member unreachable."""
    final = FINISH.get(status.strip(), "failed")
    row = session.execute(select(TABLE.c.id, TABLE.c.member_id).where(
        TABLE.c.msgid == msgid, TABLE.c.openid == openid)).first()
    if row is None:
        log.info("TEMPLATESENDJOBFINISH for unknown msgid %s (%s)", msgid, status)
        return 0
    changed = session.execute(
        update(TABLE).where(TABLE.c.id == row.id, TABLE.c.status.in_(("sent", "unknown")))
        .values(status=final, finished_at=now,
                error=None if final == "delivered" else status[:255])).rowcount
    if "block" in status and row.member_id:
        mark_unreachable(session, row.member_id, ("template",), "user blocked template messages",
                         now)
    return changed
