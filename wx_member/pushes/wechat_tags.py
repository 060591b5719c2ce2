"""The programme's tags (member_tag, set by operators) and segments (RFM, campaigns'; which
members carry what: pushes/segment_tags.py) as WeChat user tags, so a mass send can go to a
tag (message/mass/sendall) and WeChat's own admin sees them.

`sync` sends WeChat only the difference from what it was told before (`wechat_tag`,
`wechat_tag_member`), so running it twice does nothing the second time, and a sync that
stopped halfway (a crash, WeChat's quota) goes on from where it was on the next run:
0. the tags erased members' openids still carry at WeChat (`wechat_untag`) are untagged
   first (pushes/wechat_untags.py): an erasure is due to the person, tagging is not;
   `untag_released` does only this, hourly from the scheduler;
1. each tag not yet at WeChat is created (tags/create; a name WeChat already has, 45157,
   after a crash between the call and our record, is looked up with tags/get), at most
   100 per account (WeChat's limit, 45056);
2. followers who carry the tag here but not there are tagged, 50 openids a call
   (batchtagging), a round of 1,000 (20 calls at once) recorded in one transaction, the
   calls WeChat took recorded even when another of the round failed; a member who already holds
   20 WeChat tags (WeChat's limit, 45059) is left out and counted, and so is one whose
   openid WeChat does not know (40003: they left and we never heard; the batch is retried
   one openid a call to find them, the rest tagged);
3. those tagged there whose tag was removed here (or who left, or left the segment) are
   untagged, 50 a call; an openid WeChat no longer knows (it left) has nothing to untag
   and its row goes too (wechat_untags.untag).
Calls happen with no transaction open. One sync at a time (a lease): two at once (a
double click on the console's button) would both tag the same members.
"""
from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Member, WechatTag, WechatTagMember
from wx_member.platform import audit, leases
from wx_member.platform.errors import DomainError
from wx_member.pushes import segment_tags, wechat_untags
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)

BATCH = 50  # openids per batchtagging call
ROUND = 1000  # members read, tagged (20 calls at once) and recorded per step
WORKERS = 8
MAX_TAGS = 100  # per account
MAX_TAGS_PER_USER = 20
LEASE, LEASE_TTL = "wechat_tags.sync", timedelta(minutes=30)  # longer than a big sync
ACTION = "push.sync_tags"


class SyncRunning(DomainError):
    code = "TAG_SYNC_RUNNING"
    user_message = "标签正在同步中（另一次同步尚未结束），请稍后刷新页面查看结果。"


@dataclass
class TagSync:
    created: int = 0  # tags created at WeChat now
    tagged: int = 0  # members tagged now
    untagged: int = 0
    calls: int = 0
    over_limit: int = 0  # members left out: 20 WeChat tags already
    tags_left_out: int = 0  # tags not created: the account has 100
    released: int = 0  # erased members' tags untagged at WeChat (wechat_untag)
    dropped: int = 0  # untags WeChat no longer needed: it does not know the openid
    not_following: int = 0  # members left out: WeChat does not know their openid (left)
    unfinished: bool = False  # stopped at its time budget: the next run goes on


def _ids(uow: UnitOfWork) -> dict[str, int]:
    with uow.read() as session:
        return {n: i for n, i in session.execute(select(WechatTag.name, WechatTag.wechat_id))}


def _create_tags(uow: UnitOfWork, gateway: WeChatGateway, names: list[str],
                 result: TagSync) -> dict[str, int]:
    known = _ids(uow)
    for name in names:
        if name in known:
            continue
        if len(known) >= MAX_TAGS:
            result.tags_left_out += 1
            continue
        try:
            result.calls += 1
            wechat_id = gateway.create_tag(name)
            result.created += 1
        except GatewayError as exc:
            if exc.errcode in (45056, 45158):  # 100 tags already; a name over 30 bytes
                log.warning("tag %s not created at WeChat: %s", name, exc)
                result.tags_left_out += 1
                continue
            if exc.errcode != 45157:  # "the name exists" is handled below
                raise
            result.calls += 1
            wechat_id = gateway.get_tags()[name]  # made before a crash: WeChat has it
        with uow.write() as session:
            session.add(WechatTag(name=name, wechat_id=wechat_id, created_at=utcnow()))
        known[name] = wechat_id
    return known


def _to_tag(session: Session, tag: str, carries: ColumnElement,
            after: int) -> list[tuple[int, str, int]]:
    """The next ROUND followers who should carry `tag` (`carries`) and do not yet at
    WeChat, with how many WeChat tags each holds already."""
    held = (select(func.count()).select_from(WechatTagMember)
            .where(WechatTagMember.member_id == Member.id).scalar_subquery())
    # Driven by the member's primary key (the keyset), the tag probed per member: each
    # batch starts where the last stopped, so a sync reads the members once in all.
    return list(session.execute(
        select(Member.id, Member.openid, held)
        .where(Member.id > after, Member.subscribed.is_(True), Member.openid.is_not(None),
               carries,
               ~select(WechatTagMember.member_id).where(
                   WechatTagMember.tag == tag, WechatTagMember.member_id == Member.id).exists())
        .order_by(Member.id).limit(ROUND)))


def _to_untag(session: Session, tag: str, carries: ColumnElement,
              after: int) -> list[tuple[int, str]]:
    """The next BATCH members tagged at WeChat who should no longer carry `tag` (or who
    left)."""
    return list(session.execute(
        select(Member.id, Member.openid)
        .join(WechatTagMember, WechatTagMember.member_id == Member.id)
        .where(WechatTagMember.tag == tag, WechatTagMember.member_id > after,
               (~carries) | Member.subscribed.is_not(True))
        .order_by(WechatTagMember.member_id).limit(BATCH)))


def _tag_round(gateway: WeChatGateway, wechat_id: int, fits: list[tuple[int, str]],
               result: TagSync) -> tuple[list[int], GatewayError | None]:
    """Up to ROUND members, BATCH openids a call, several calls at once (no transaction
    open). Returns the member ids WeChat tagged and the first failure, if any."""
    chunks = [fits[i:i + BATCH] for i in range(0, len(fits), BATCH)]

    def call(chunk: list[tuple[int, str]]) -> tuple[list[int], int, int, GatewayError | None]:
        """The member ids tagged, how many openids WeChat does not know, the calls made, the
        failure that stopped it (summed after: the calls run in threads)."""
        member_of = {openid: mid for mid, openid in chunk}
        done, gone, calls, failure = wechat_untags.each_known(
            lambda batch: gateway.tag_users(wechat_id, batch), list(member_of))
        return [member_of[o] for o in done], len(gone), calls, failure

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tags") as pool:
        answers = list(pool.map(call, chunks))
    result.calls += sum(c for _, _, c, _ in answers)
    gone = sum(n for _, n, _, _ in answers)
    if gone:
        log.warning("WeChat does not know %d openids to tag with tag %s: left out (they "
                    "left without our hearing of it)", gone, wechat_id)
        result.not_following += gone
    done = [mid for ok, _, _, _ in answers for mid in ok]
    return done, next((f for _, _, _, f in answers if f is not None), None)


def sync(uow: UnitOfWork, gateway: WeChatGateway, segments: bool = True,
         by: str | None = None, budget: float | None = None) -> TagSync:
    """Use case, in steps (see the module docstring): WeChat's user tags brought in line
    with the programme's tags and (`segments`) its segments. With `by` (an operator), the
    run is audited with its counts, also when WeChat stopped it halfway (what was done
    stays done: the next run goes on from there). With `budget` (seconds), no new round
    starts once it is spent, after at least one call (`unfinished`): a web request must
    end before its worker's timeout, which would kill it holding the lease."""
    me = uuid.uuid4().hex
    ttl = LEASE_TTL if budget is None else timedelta(seconds=budget + 60)
    if not leases.acquire(uow, LEASE, me, ttl):
        raise SyncRunning("another tag sync holds the lease")
    result = TagSync()
    deadline = None if budget is None else time.monotonic() + budget
    try:
        _sync(uow, gateway, segments, result, deadline)
    except DomainError as exc:
        _audit(uow, by, segments, result, stopped=str(exc))
        raise
    finally:
        leases.release(uow, LEASE, me)
    _audit(uow, by, segments, result)
    log.info("WeChat tags synced: %s", result)
    return result


def _audit(uow: UnitOfWork, by: str | None, segments: bool, result: TagSync,
           stopped: str | None = None) -> None:
    if by is None:  # the CLI and the bench: nobody in the console ran it
        return
    after: dict = {"tags_created": result.created, "tagged": result.tagged,
                   "untagged": result.untagged, "over_limit": result.over_limit,
                   "tags_left_out": result.tags_left_out}
    after.update({k: v for k, v in (("released", result.released),
                                    ("dropped", result.dropped),
                                    ("not_following", result.not_following)) if v})
    if stopped:
        after["stopped"] = stopped[:200]
    if result.unfinished:
        after["unfinished"] = True
    with uow.write() as session:
        audit.record(session, by, ACTION, "wechat" if segments else "wechat:tags", None, after)


def _out_of_time(result: TagSync, deadline: float | None) -> bool:
    """Time to stop (a round made no call yet always goes: each run moves on)."""
    if deadline is None or result.calls == 0 or time.monotonic() < deadline:
        return False
    result.unfinished = True
    return True


def untag_released(uow: UnitOfWork, gateway: WeChatGateway) -> TagSync | None:
    """Use case (the scheduler's, hourly): only step 0, so an erasure is complete at WeChat
    within the hour even if nobody syncs the tags; None while a sync holds the lease (it
    does step 0 itself). A failure is raised: the pairs wait for the next run."""
    if not wechat_untags.pending(uow):
        return TagSync()
    me = uuid.uuid4().hex
    if not leases.acquire(uow, LEASE, me, LEASE_TTL):
        return None
    result = TagSync()
    try:
        wechat_untags.untag_released(uow, gateway, result, lambda: False)
    finally:
        leases.release(uow, LEASE, me)
    log.info("erased members' WeChat tags: %d untagged, %d no longer known to WeChat, "
             "%d calls", result.released, result.dropped, result.calls)
    return result


def _sync(uow: UnitOfWork, gateway: WeChatGateway, segments: bool, result: TagSync,
          deadline: float | None) -> None:
    wechat_untags.untag_released(uow, gateway, result, lambda: _out_of_time(result, deadline))
    if result.unfinished:
        return
    with uow.read() as session:  # segment members are scored once, as of now
        wanted = segment_tags.wanted(session, utcnow(), segments)
    ids = _create_tags(uow, gateway, list(wanted), result)
    for tag, wechat_id in sorted(ids.items()):
        carries = segment_tags.condition(wanted, tag)
        after = 0
        while True:
            if _out_of_time(result, deadline):
                return
            with uow.read() as session:
                rows = _to_tag(session, tag, carries, after)
            if not rows:
                break
            after = rows[-1][0]
            fits = [(mid, openid) for mid, openid, held in rows if held < MAX_TAGS_PER_USER]
            result.over_limit += len(rows) - len(fits)
            done, failure = _tag_round(gateway, wechat_id, fits, result)
            if done:  # what WeChat took is recorded even when a call of the round failed
                sent = dict(fits)
                with uow.write() as session:
                    result.tagged += wechat_untags.record_tagged(
                        session, tag, wechat_id, {mid: sent[mid] for mid in done})
            if failure is not None:
                raise failure
        after = 0
        while True:
            if _out_of_time(result, deadline):
                return
            with uow.read() as session:
                rows = _to_untag(session, tag, carries, after)
            if not rows:
                break
            after = rows[-1][0]
            openids = [openid for _, openid in rows if openid]
            done, gone, failure = (wechat_untags.untag(gateway, wechat_id, openids, result)
                                   if openids else ([], [], None))
            result.dropped += len(gone)
            # Those WeChat untagged or no longer knows, and those without an openid (merged
            # away before their rows followed the openid: nothing we can name to WeChat).
            over = {mid for mid, openid in rows if not openid or openid in done or openid in gone}
            if over:
                with uow.write() as session:
                    session.execute(delete(WechatTagMember).where(
                        WechatTagMember.tag == tag, WechatTagMember.member_id.in_(over)))
            result.untagged += len(done) + len([mid for mid, openid in rows if not openid])
            if failure is not None:
                raise failure


def wechat_id(uow: UnitOfWork, tag: str) -> int | None:
    """Use case (a read): the WeChat id of a synced tag, or None."""
    with uow.read() as session:
        return session.scalar(select(WechatTag.wechat_id).where(WechatTag.name == tag))
