"""Mass sends (群发): delivery rows on the `mass` channel go out together, up to 10,000
openids a call (message/mass/send), one call per `mass_job` row.

1. take (one transaction): a job left `sending` is taken again as it is; otherwise the
   oldest due queued mass rows of one (kind, occasion), whose text is the same for all
   (definitions: `mass_text` uses no member's values), become a new job with a fresh
   `clientmsgid` and are marked `sending` with its id.
2. call (no transaction open), with the job's clientmsgid.
3. record (one transaction): `sent` with WeChat's msg_id, or `failed`.

The clientmsgid is WeChat's own idempotency key: a call that timed out, or a sender killed
after the call, leaves the job `sending`; the next run calls again with the same
clientmsgid and WeChat answers 45065 with the msg_id of the message it already has (the
gateway reads it as sent), so nothing goes out twice. WeChat keeps a clientmsgid 24 hours:
a job still unanswered after that is failed (`unknown`), never called again.

WeChat needs two openids at least: a lone row is skipped. Dry-run rows go one by one to
message/mass/preview (a test send). MASSSENDJOBFINISH (`finished`) records WeChat's counts.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Delivery, MassJob
from wx_member.platform import audit
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)

MAX_OPENIDS = 10_000  # message/mass/send's limit
KEEPS_CLIENTMSGID = timedelta(hours=24)
RETRY_ERRCODES = {-1, 45009, 45011, 40001, 40014, 42001}
TABLE = Delivery.__table__


def refused(exc: GatewayError) -> bool:
    """WeChat answered with an errcode that means the message was not taken (nothing went
    out), as opposed to no answer or one worth calling again with the clientmsgid."""
    return not (exc.maybe_sent or exc.errcode in RETRY_ERRCODES or exc.errcode is None)


def content(payload: dict[str, Any]) -> dict[str, Any]:
    """The call's message from a mass row's payload ({"text": …} or {"media_id": …})."""
    if payload.get("media_id"):
        return {"msgtype": "image", "image": {"media_id": payload["media_id"]}}
    return {"msgtype": "text", "text": {"content": payload["text"]}}


def _due(session: Session, now: datetime, kinds: list[str] | None, dry_run: bool):
    q = select(TABLE.c.id, TABLE.c.kind, TABLE.c.occasion).where(
        TABLE.c.status == "queued", TABLE.c.channel == "mass",
        TABLE.c.next_attempt_at <= now, TABLE.c.dry_run.is_(dry_run))
    return q.where(TABLE.c.kind.in_(kinds)) if kinds else q


def _take(session: Session, now: datetime, kinds: list[str] | None
          ) -> tuple[MassJob | None, list[str], Counter]:
    """In the caller's transaction: the job to call now and its openids (see above)."""
    skipped: Counter = Counter()
    job = session.scalars(select(MassJob).where(MassJob.status == "sending", MassJob.tag_id.is_(None))
                          .order_by(MassJob.id).limit(1)).first()
    if job is None:
        first = session.execute(_due(session, now, kinds, False)
                                .order_by(TABLE.c.next_attempt_at, TABLE.c.id).limit(1)).first()
        if first is None:
            return None, [], skipped
        ids = list(session.scalars(
            select(TABLE.c.id).where(TABLE.c.status == "queued", TABLE.c.channel == "mass",
                                     TABLE.c.dry_run.is_(False), TABLE.c.kind == first.kind,
                                     TABLE.c.occasion == first.occasion,
                                     TABLE.c.next_attempt_at <= now)
            .order_by(TABLE.c.id).limit(MAX_OPENIDS)))
        if len(ids) < 2:
            session.execute(update(TABLE).where(TABLE.c.id.in_(ids)).values(
                status="skipped", finished_at=now,
                error="a mass send needs two recipients at least (WeChat's rule)"))
            skipped["skipped"] += len(ids)
            return None, [], skipped
        payload = session.scalar(select(TABLE.c.payload).where(TABLE.c.id == ids[0]))
        job = MassJob(clientmsgid=uuid.uuid4().hex, kind=first.kind, occasion=first.occasion,
                      recipients=len(ids), payload=content(payload), status="sending",
                      attempts=0, created_at=now)
        session.add(job)
        session.flush()
        session.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.status == "queued")
                        .values(status="sending", mass_job_id=job.id,
                                attempts=TABLE.c.attempts + 1))
    if _forgotten(session, job, now):
        return None, [], skipped
    job.attempts += 1
    openids = list(session.scalars(select(TABLE.c.openid).where(TABLE.c.mass_job_id == job.id)
                                   .order_by(TABLE.c.id)))
    session.expunge(job)
    return job, openids, skipped


def _forgotten(session: Session, job: MassJob, now: datetime) -> bool:
    """A job still `sending` after WeChat forgot its clientmsgid (24 hours) is never called
    again: it may have gone out, and a new call could send it twice. It ends `unknown`
    (not `failed`, which a tag send's name may try again)."""
    if now - job.created_at <= KEEPS_CLIENTMSGID:
        return False
    _finish(session, job, "unknown", now, error="no answer within 24 hours: may have been "
            "sent, not called again (WeChat forgets the clientmsgid)", rows="unknown")
    return True


def _finish(session: Session, job: MassJob, status: str, now: datetime, *, rows: str,
            msg_id: int | None = None, data_id: int | None = None,
            error: str | None = None) -> None:
    session.execute(update(MassJob).where(MassJob.id == job.id).values(
        status=status, msg_id=msg_id, msg_data_id=data_id, error=error,
        sent_at=now if status == "sent" else None,
        finished_at=None if status == "sent" else now))
    session.execute(update(TABLE).where(TABLE.c.mass_job_id == job.id,
                                        TABLE.c.status == "sending").values(
        status=rows, msgid=msg_id, error=error, sent_at=now if rows == "sent" else None,
        finished_at=None if rows == "sent" else now))


def send_due(uow: UnitOfWork, gateway: WeChatGateway, *, now: datetime | None = None,
             kinds: list[str] | None = None) -> Counter:
    """Use case, in steps (take, call, record; see above): every due mass job and dry-run
    preview. Returns delivery rows by the status they reached."""
    fixed, stats = now, Counter()
    stats.update(_previews(uow, gateway, fixed or utcnow(), kinds))
    while True:
        now = fixed or utcnow()
        with uow.write() as session:
            job, openids, skipped = _take(session, now, kinds)
        stats.update(skipped)
        if job is None:
            if skipped:
                continue
            return stats
        try:
            msg_id, data_id = gateway.mass_send(job.payload, job.clientmsgid, openids=openids)
        except GatewayError as exc:
            if exc.maybe_sent or exc.errcode in RETRY_ERRCODES or exc.errcode is None:
                log.warning("mass job %s: %s; called again next run with clientmsgid %s",
                            job.id, exc, job.clientmsgid)
                stats["sending"] += len(openids)
                return stats  # WeChat is unwell or slow: the next run calls again
            with uow.write() as session:
                _finish(session, job, "failed", fixed or utcnow(), rows="failed",
                        error=str(exc)[:255])
            stats["failed"] += len(openids)
            continue
        with uow.write() as session:
            _finish(session, job, "sent", fixed or utcnow(), rows="sent", msg_id=msg_id,
                    data_id=data_id)
        stats["sent"] += len(openids)


def _previews(uow: UnitOfWork, gateway: WeChatGateway, now: datetime,
              kinds: list[str] | None) -> Counter:
    """Dry-run mass rows: each to its test openid by message/mass/preview."""
    stats: Counter = Counter()
    with uow.write() as session:
        ids = list(session.scalars(_due(session, now, kinds, True).with_only_columns(TABLE.c.id)))
        rows = session.execute(select(TABLE.c.id, TABLE.c.openid, TABLE.c.payload)
                               .where(TABLE.c.id.in_(ids))).all()
        session.execute(update(TABLE).where(TABLE.c.id.in_(ids)).values(
            status="sending", attempts=TABLE.c.attempts + 1))
    for row in rows:
        try:
            msg_id, status, error = gateway.mass_preview(row.openid, content(row.payload)), "sent", None
        except GatewayError as exc:
            msg_id, status, error = None, "unknown" if exc.maybe_sent else "failed", str(exc)[:255]
        with uow.write() as session:
            session.execute(update(TABLE).where(TABLE.c.id == row.id).values(
                status=status, msgid=msg_id, error=error, sent_at=now if status == "sent" else None,
                finished_at=None if status == "sent" else now))
        stats[status] += 1
    return stats


def send_to_tag(uow: UnitOfWork, gateway: WeChatGateway, tag_id: int, text: str,
                occasion: str, now: datetime | None = None,
                media_id: str | None = None, by: str | None = None,
                tag: str | None = None) -> MassJob:
    """Use case, in steps: a text (or, with `media_id`, an image uploaded to WeChat's
    media library) to everyone with WeChat user tag `tag_id`
    (message/mass/sendall; pushes/wechat_tags.py syncs the programme's tags). `occasion`
    names the send: called again with it (after a timeout), the same job is called again
    with its clientmsgid, so WeChat sends it once. A call WeChat refused outright (an
    errcode, so nothing went out) fails the job; the same occasion then tries afresh with
    this call's message (the operator corrected it). With `by`, a send WeChat took is
    audited (tag name `tag`, occasion, msg_id) with its record."""
    now = now or utcnow()
    content_ = content({"text": text, "media_id": media_id})
    with uow.write() as session:
        job = session.scalars(select(MassJob).where(MassJob.kind == "tag",
                                                    MassJob.occasion == occasion)).first()
        if job is None:
            job = MassJob(clientmsgid=uuid.uuid4().hex, kind="tag", occasion=occasion,
                          tag_id=tag_id, recipients=0, status="sending", attempts=0,
                          payload=content_, created_at=now)
            session.add(job)
        elif job.status == "failed":  # WeChat refused it: nothing was sent, a new try
            job.clientmsgid, job.tag_id, job.payload = uuid.uuid4().hex, tag_id, content_
            job.status, job.error, job.finished_at, job.created_at = "sending", None, None, now
        elif job.status == "sending" and _forgotten(session, job, now):
            session.expire(job)  # read back as `unknown`, never called again
        job.attempts += 1
        session.flush()
        session.expunge(job)
    if job.status != "sending":
        return job
    try:
        msg_id, data_id = gateway.mass_send(job.payload, job.clientmsgid, tag_id=job.tag_id)
    except GatewayError as exc:
        if refused(exc):
            with uow.write() as session:  # refused: the history says so, and why
                _finish(session, job, "failed", utcnow(), rows="failed", error=str(exc)[:255])
        raise
    with uow.write() as session:
        _finish(session, job, "sent", now, rows="sent", msg_id=msg_id, data_id=data_id)
        if by is not None:
            audit.record(session, by, "push.mass_tag", tag or str(job.tag_id), None, {
                "tag": tag, "occasion": occasion, **_what(job.payload), "msg_id": msg_id})
        return session.get(MassJob, job.id)


def _what(payload: dict[str, Any]) -> dict[str, str]:
    """A mass job's message for the audit log: its text, or the image's media_id."""
    if payload.get("msgtype") == "image":
        return {"image": payload["image"]["media_id"]}
    return {"text": payload.get("text", {}).get("content", "")}


# -- WeChat's report --------------------------------------------------------------------
def finished(session: Session, msg_id: int, status: str, total: int, filtered: int,
             sent: int, errors: int, now: datetime) -> bool:
    """Inside the event's transaction (`process_once`): MASSSENDJOBFINISH records WeChat's
    counts on the job; a job WeChat says went out to everyone (nobody filtered, no error)
    moves its rows to delivered (the report has counts, not openids)."""
    job_id = session.scalar(select(MassJob.id).where(MassJob.msg_id == msg_id))
    if job_id is None:
        log.info("MASSSENDJOBFINISH for unknown msg_id %s (%s)", msg_id, status)
        return False
    session.execute(update(MassJob).where(MassJob.id == job_id).values(
        status="finished", report=status[:60], total=total, filtered=filtered,
        sent_count=sent, errors=errors, finished_at=now))
    if status.strip() == "send success" and not filtered and not errors:
        session.execute(update(TABLE).where(TABLE.c.mass_job_id == job_id,
                                            TABLE.c.status == "sent")
                        .values(status="delivered", finished_at=now))
    return True
