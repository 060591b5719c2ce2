"""Erasure completes at WeChat: the WeChat user tags a sync put on an erased member's openid
are untagged there by the next tag sync (or the scheduler's hourly run), through the
sandbox; a failure keeps what is left for the next run, an openid WeChat no longer knows is
dropped; a merge hands the tags' record over with the openid. Migration 0037 both ways."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from test_wechat_tags import members, sync
from wx_member import migrate
from wx_member.clock import utcnow
from wx_member.db import make_engine
from wx_member.members import merging, privacy
from wx_member.models import Member, Order, WechatTagMember, WechatUntag
from wx_member.pushes import wechat_tags, wechat_untags
from wx_member.wechat.api_client import GatewayError

UNTAGGING = "cgi-bin/tags/members/batchuntagging"


def erase(app, openid: str) -> None:
    with app.session() as uow:
        privacy.erase_member(uow, openid, by="ops:li", note="PIPL request")


def pending(app) -> list[tuple[int, str]]:
    with app.session() as s, s.read():
        return sorted(tuple(r) for r in s.execute(select(WechatUntag.tag_id,
                                                         WechatUntag.openid)))


def tag_ids(sandbox, *names: str) -> list[int]:
    return sorted(t["id"] for t in sandbox.reach.tags()["tags"] if t["name"] in names)


def test_an_erased_followers_tags_are_untagged_by_the_next_sync(live, sandbox):
    gone, kept = members(live, 2, "VIP")  # no orders: RFM·未消费 too
    sync(live, segments=True)
    ours = tag_ids(sandbox, "VIP", "RFM·未消费")
    assert sandbox.reach.user_tags(gone) == ours == sandbox.reach.user_tags(kept)
    calls = len(sandbox.sent("tags"))
    erase(live, gone)
    # Erasure calls no one (no call with its transaction open): WeChat still has the tags,
    # and we keep exactly the pairs it needs to take them off, nothing else of her.
    assert len(sandbox.sent("tags")) == calls and sandbox.reach.user_tags(gone) == ours
    assert pending(live) == [(t, gone) for t in ours]
    with live.session() as s, s.read():
        row = s.scalars(select(WechatUntag)).first()
        assert {c.name for c in WechatUntag.__table__.columns} == {"tag_id", "openid",
                                                                   "queued_at"}
        assert row.queued_at is not None
    r = sync(live, segments=True)
    assert (r.released, r.dropped, r.tagged, r.untagged, r.calls) == (2, 0, 0, 0, 2)
    assert sandbox.reach.user_tags(gone) == [] and pending(live) == []
    assert sandbox.reach.user_tags(kept) == ours  # the other follower keeps hers
    again = sync(live, segments=True)
    assert (again.released, again.tagged, again.untagged, again.calls) == (0, 0, 0, 0)


def test_a_failure_keeps_the_pairs_and_the_hourly_run_finishes(live, sandbox):
    openids = members(live, 3, "VIP")
    sync(live)
    [vip] = tag_ids(sandbox, "VIP")
    for o in openids[:2]:
        erase(live, o)
    sandbox.inject(UNTAGGING, errcode=-1)  # WeChat: system busy
    with pytest.raises(GatewayError):
        sync(live)
    assert pending(live) == [(vip, o) for o in openids[:2]]
    assert sandbox.reach.user_tags(openids[0]) == [vip]
    # Nobody syncs again: the scheduler's hourly job does it.
    from wx_member.scheduler import build_scheduler

    job = build_scheduler(live.rt).get_job("wechat_untag")
    assert str(job.trigger) == "cron[minute='40']"
    with live.session() as uow:
        r = wechat_tags.untag_released(uow, live.rt.gateway)
    assert (r.released, r.calls) == (2, 1) and pending(live) == []
    assert [sandbox.reach.user_tags(o) for o in openids] == [[], [], [vip]]
    with live.session() as uow:  # nothing left: no call
        assert wechat_tags.untag_released(uow, live.rt.gateway).calls == 0
    assert sync(live).calls == 0


def test_an_openid_wechat_no_longer_knows_is_dropped(live, sandbox):
    left, erased, stays = members(live, 3, "VIP")
    sync(live)
    [vip] = tag_ids(sandbox, "VIP")
    erase(live, left)
    erase(live, erased)
    sandbox.unfollow(left)  # WeChat refuses a batch naming her: 40003 invalid openid
    r = sync(live)
    # The batch of two, refused; then one call each: hers dropped, the other untagged.
    assert (r.released, r.dropped, r.calls) == (1, 1, 3)
    assert pending(live) == [] and sandbox.reach.user_tags(erased) == []
    assert sandbox.reach.user_tags(stays) == [vip]
    assert sync(live).calls == 0


def test_a_member_who_left_does_not_block_the_untagging_of_others(live, sandbox):
    left, removed = members(live, 2, "VIP")
    sync(live)
    live.simulator().unsubscribe(left)  # the follower leaves: WeChat forgets her openid
    sandbox.unfollow(left)
    with live.session() as s, s.begin():  # and an operator takes the tag off the other
        from wx_member.models import MemberTag
        s.query(MemberTag).filter(MemberTag.member_id == s.scalar(
            select(Member.id).where(Member.openid == removed))).delete()
    r = sync(live)
    assert (r.untagged, r.dropped) == (1, 1) and sandbox.reach.user_tags(removed) == []
    with live.session() as s, s.read():
        assert s.scalar(select(sa.func.count()).select_from(WechatTagMember)) == 0
    assert sync(live).calls == 0


def test_a_merged_away_openid_loses_the_segment_it_left(live, sandbox):
    """An Official Account member without orders (RFM·未消费) merged into a mini-program
    member with orders: the survivor takes the openid, and the next sync untags 未消费 from
    it instead of forgetting it was ever there."""
    [oa] = members(live, 1, "VIP", prefix="oMergeA")
    with live.session() as s, s.begin():
        buyer = Member(mini_openid="oMiniMergeB", card_no="6000000001", subscribed=False,
                       joined_at=utcnow(), points_balance=0)
        s.add(buyer)
        s.flush()
        s.add(Order(out_trade_no="MERGE-B1", openid="oMiniMergeB", member_id=buyer.id,
                    amount_fen=50000, refunded_fen=0, status="paid", api="v2", paid_at=utcnow()))
        buyer_id = buyer.id
        oa_id = s.scalar(select(Member.id).where(Member.openid == oa))
    sync(live, segments=True)
    assert sandbox.reach.user_tags(oa) == tag_ids(sandbox, "VIP", "RFM·未消费")
    with live.session() as uow:
        merging.merge(uow, buyer_id, oa_id, by="ops:li")
    r = sync(live, segments=True)
    assert r.untagged == 1 and r.tagged == 1  # 未消费 off, the buyer's segment on
    held = {t["id"]: t["name"] for t in sandbox.reach.tags()["tags"]}
    names = sorted(held[t] for t in sandbox.reach.user_tags(oa))
    assert "RFM·未消费" not in names and "VIP" in names and len(names) == 2
    assert sync(live, segments=True).calls == 0


def test_the_migration_goes_down_and_up_on_every_database(db_url):
    migrate.upgrade(db_url)
    migrate.downgrade(db_url, "0036_store_payment_undiscounted")
    engine = make_engine(db_url)
    try:
        assert "wechat_untag" not in sa.inspect(engine).get_table_names()
        migrate.upgrade(db_url)
        cols = {c["name"] for c in sa.inspect(engine).get_columns("wechat_untag")}
        assert cols == {"tag_id", "openid", "queued_at"}
        pk = sa.inspect(engine).get_pk_constraint("wechat_untag")["constrained_columns"]
        assert pk == ["tag_id", "openid"]
    finally:
        engine.dispose()


def test_a_member_erased_while_the_tagging_call_was_out_is_queued_not_recorded(live, sandbox):
    """The sync read her, WeChat tagged her openid, and meanwhile she was erased: what the
    sync records after the call is a pair to untag, not a tag on a row without her openid.
    (The interleaving, played in order: the tagging round's record runs after the erasure.)"""
    [o] = members(live, 1, "VIP", prefix="oRace")
    sync(live)
    [vip] = tag_ids(sandbox, "VIP")
    with live.session() as s, s.read():
        mid = s.scalar(select(Member.id).where(Member.openid == o))
    erase(live, o)
    with live.session() as uow:  # the queued pair is there once, not twice
        with uow.write() as session:
            assert wechat_untags.record_tagged(session, "VIP", vip, {mid: o}) == 0
    assert pending(live) == [(vip, o)]
    with live.session() as s, s.read():
        assert s.scalar(select(sa.func.count()).select_from(WechatTagMember)) == 0
    assert sync(live).released == 1 and sandbox.reach.user_tags(o) == []


def test_a_follower_who_left_unheard_does_not_stop_the_tagging_of_others(live, sandbox):
    """A lost unsubscribe: still subscribed here, unknown at WeChat, which refuses the whole
    batch naming her (40003). She is left out and counted; the other 59 are tagged."""
    openids = members(live, 60, "VIP")
    left = openids[7]
    sandbox.unfollow(left)  # WeChat forgot her; we never heard the unsubscribe event
    r = sync(live)
    assert (r.tagged, r.not_following) == (59, 1)
    # create, the batch of 50 refused, 50 one at a time, the batch of 10
    assert r.calls == 1 + 1 + 50 + 1
    assert sandbox.reach.user_tags(left) == []
    assert all(sandbox.reach.user_tags(o) == tag_ids(sandbox, "VIP") for o in openids if o != left)
    with live.session() as s, s.read():
        assert s.scalar(select(sa.func.count()).select_from(WechatTagMember)) == 59
    again = sync(live)  # she is tried again (she may follow again), alone
    assert (again.tagged, again.not_following, again.calls) == (0, 1, 1)
