"""Untagging at WeChat: the tag sync's calls to batchuntagging (pushes/wechat_tags.py), and
the pairs an erasure left (`wechat_untag`, members/wechat_tag_rows.py) until WeChat took
them, so an erasure is complete at WeChat too.

WeChat answers a batch that names an openid it does not know for this account (40003
invalid openid, 49003 not this appid's: the follower left and WeChat no longer has them,
or never did) by refusing the whole batch. That openid carries nothing left to untag, so
its pair is dropped and logged (a count, never the openid: an erased person's openid must
not outlive the erasure in the logs); to find it among 50, the batch goes again one openid
a call. A tag WeChat no longer has (45159: deleted in WeChat's own admin) has nothing left
to untag either. Any other failure (-1 system busy, the network, the day's quota) keeps
the pairs for the next run, and stops this one.

Rule functions: no transaction open while WeChat is called, one write transaction a round.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import groupby
from typing import Protocol

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Member, WechatTag, WechatTagMember, WechatUntag
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)

BATCH = 50  # openids per batchuntagging call
ROUND = 1000  # pairs read, untagged (20 calls) and deleted per transaction
GONE = (40003, 49003)  # an openid WeChat does not know (any more) for this account
NO_TAG = 45159  # a tag id WeChat does not know (any more)


class Counts(Protocol):
    """What a run counts (wechat_tags.TagSync)."""
    calls: int
    released: int  # erased members' pairs untagged at WeChat
    dropped: int  # pairs WeChat no longer knew: nothing to untag


def each_known(send: Callable[[list[str]], None], openids: list[str]
               ) -> tuple[list[str], list[str], int, GatewayError | None]:
    """`send(openids)`, a tags/members call of up to BATCH openids. WeChat refuses the whole
    batch for one openid it does not know (GONE: the follower left, perhaps without our
    hearing of it), so such a batch goes again one openid a call to find it. Returns the
    openids WeChat took, those it does not know, the calls made and the failure that
    stopped it, if any (any other refusal)."""
    try:
        send(openids)
        return openids, [], 1, None
    except GatewayError as exc:
        if exc.errcode not in GONE:
            return [], [], 1, exc
        if len(openids) == 1:
            return [], openids, 1, None
    done: list[str] = []
    gone: list[str] = []
    calls = 1
    for openid in openids:
        ok, unknown, n, failure = each_known(send, [openid])
        done, gone, calls = done + ok, gone + unknown, calls + n
        if failure is not None:
            return done, gone, calls, failure
    return done, gone, calls, None


def untag(gateway: WeChatGateway, tag_id: int, openids: list[str],
          counts: Counts) -> tuple[list[str], list[str], GatewayError | None]:
    """batchuntagging of up to BATCH openids. Returns the openids WeChat untagged, those it
    no longer knows (dropped, logged) and the failure that stopped it, if any."""
    def send(batch: list[str]) -> None:
        gateway.tag_users(tag_id, batch, untag=True)

    done, gone, calls, failure = each_known(send, openids)
    counts.calls += calls
    if failure is not None and failure.errcode == NO_TAG:
        log.warning("WeChat no longer has tag %s (%s): %d openids have nothing to untag",
                    tag_id, failure.errcode, len(openids) - len(done))
        taken = set(done)
        return done, [o for o in openids if o not in taken], None
    if gone:
        log.warning("WeChat does not know %d openids of tag %s: nothing to untag",
                    len(gone), tag_id)
    return done, gone, failure


def _pending(session: Session) -> list[tuple[int, str, bool]]:
    """The next ROUND pairs, with whether the openid carries the tag again by our record (a
    new member following with the same openid and tagged since: left at WeChat)."""
    again = (select(WechatTagMember.member_id)
             .join(Member, Member.id == WechatTagMember.member_id)
             .join(WechatTag, WechatTag.name == WechatTagMember.tag)
             .where(Member.openid == WechatUntag.openid,
                    WechatTag.wechat_id == WechatUntag.tag_id).exists())
    return [(t, o, bool(a)) for t, o, a in session.execute(
        select(WechatUntag.tag_id, WechatUntag.openid, again)
        .order_by(WechatUntag.tag_id, WechatUntag.openid).limit(ROUND))]


def untag_released(uow: UnitOfWork, gateway: WeChatGateway, counts: Counts,
                   out_of_time: Callable[[], bool]) -> None:
    """The pairs erasures left, untagged at WeChat, ROUND at a time: what WeChat took (or no
    longer knew) is deleted in one transaction per round, also when a later call of the
    round failed; the failure is raised then (the rest waits for the next run)."""
    while not out_of_time():
        with uow.read() as session:
            rows = _pending(session)
        if not rows:
            return
        finished: dict[int, list[str]] = {}
        failure = None
        for tag_id, group in groupby(rows, key=lambda r: r[0]):
            pairs = list(group)
            finished[tag_id] = [o for _, o, again in pairs if again]
            todo = [o for _, o, again in pairs if not again]
            for i in range(0, len(todo), BATCH):
                done, gone, failure = untag(gateway, tag_id, todo[i:i + BATCH], counts)
                finished[tag_id] += done + gone
                counts.released += len(done)
                counts.dropped += len(gone)
                if failure is not None:
                    break
            if failure is not None:
                break
        with uow.write() as session:
            for tag_id, openids in finished.items():
                if openids:
                    session.execute(delete(WechatUntag).where(WechatUntag.tag_id == tag_id,
                                                              WechatUntag.openid.in_(openids)))
        if failure is not None:
            raise failure


def record_tagged(session: Session, tag: str, tag_id: int, sent: dict[int, str]) -> int:
    """After batchtagging: the members WeChat tagged (`sent`: member id → the openid sent)
    recorded as carrying `tag`, in the caller's transaction. A member whose openid changed
    while the call was out (erased, merged away) no longer holds it: the pair goes to
    `wechat_untag` instead, or WeChat would keep the tag with nobody here to take it off.
    The rows are locked, so an erasure either waits for this record (and then moves it)
    or has already let go of the openid. Returns the members recorded."""
    held = dict(session.execute(select(Member.id, Member.openid)
                                .where(Member.id.in_(list(sent))).with_for_update()).all())
    kept = [mid for mid, openid in sent.items() if held.get(mid) == openid]
    if kept:
        now = utcnow()
        session.execute(insert(WechatTagMember), [
            {"tag": tag, "member_id": mid, "tagged_at": now} for mid in kept])
    let_go = {openid for mid, openid in sent.items() if held.get(mid) != openid}
    if let_go:
        let_go -= set(session.scalars(select(WechatUntag.openid).where(
            WechatUntag.tag_id == tag_id, WechatUntag.openid.in_(let_go))))
    if let_go:  # (an empty list would insert one row of defaults)
        session.execute(insert(WechatUntag), [
            {"tag_id": tag_id, "openid": o, "queued_at": utcnow()} for o in sorted(let_go)])
    return len(kept)


def pending(uow: UnitOfWork) -> int:
    """Use case (a read): pairs still to untag at WeChat."""
    with uow.read() as session:
        return int(session.scalar(select(func.count()).select_from(WechatUntag)))
