"""Tags synced to WeChat (issue 15) through the sandbox: created once, members tagged 50 a
call, the difference only on a second run, untagged when the tag is removed, resumed after
a failure halfway, WeChat's limits kept; then a mass send by tag goes out once."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from wx_member.clock import utcnow
from wx_member.models import MassJob, Member, MemberTag, WechatTagMember
from wx_member.pushes import mass_sends, wechat_tags
from wx_member.wechat.api_client import GatewayError

TAGGING = "cgi-bin/tags/members/batchtagging"


def members(app, n: int, tag: str, prefix: str = "oT") -> list[str]:
    openids = [f"{prefix}{i:04d}" for i in range(n)]
    with app.session() as s, s.begin():
        s.execute(insert(Member), [{"openid": o, "card_no": f"7{i:09d}", "subscribed": True,
                                    "joined_at": utcnow(), "points_balance": 0}
                                   for i, o in enumerate(openids)])
        ids = s.scalars(select(Member.id).where(Member.openid.in_(openids))).all()
        s.execute(insert(MemberTag), [{"member_id": i, "tag": tag, "created_by": "test",
                                       "created_at": utcnow()} for i in ids])
    return openids


def sync(app, segments: bool = False):
    """Operators' tags only unless `segments` (their own tests below)."""
    with app.session() as uow:
        return wechat_tags.sync(uow, app.rt.gateway, segments)


def test_sync_is_idempotent_batched_and_follows_removals(live, sandbox):
    openids = members(live, 120, "VIP")
    r = sync(live)
    assert (r.created, r.tagged, r.calls) == (1, 120, 1 + 3)  # create + 50, 50, 20
    [vip] = sandbox.reach.tags()["tags"]
    assert (vip["name"], vip["count"]) == ("VIP", 120)
    assert all(len(m["request"]["openid_list"]) <= 50 for m in sandbox.sent("tags")
               if "openid_list" in m["request"])
    again = sync(live)
    assert (again.created, again.tagged, again.untagged, again.calls) == (0, 0, 0, 0)
    with live.session() as s, s.begin():  # the operator removes the tag from ten members
        ten = s.scalars(select(Member.id).where(Member.openid.in_(openids[:10]))).all()
        s.query(MemberTag).filter(MemberTag.member_id.in_(ten)).delete()
    r = sync(live)
    assert (r.untagged, r.calls) == (10, 1)
    assert sandbox.reach.user_tags(openids[0]) == [] and sandbox.reach.tags()["tags"][0]["count"] == 110


def test_a_sync_stopped_halfway_goes_on_from_there(live, sandbox):
    members(live, 120, "VIP")
    sandbox.quota(TAGGING, 1)  # the second batch: WeChat's daily quota
    with pytest.raises(GatewayError):
        sync(live)
    with live.session() as s, s.read():
        assert s.query(WechatTagMember).count() == 50
    sandbox.clear()  # the next day
    r = sync(live)
    assert (r.created, r.tagged) == (0, 70)
    assert sandbox.reach.tags()["tags"][0]["count"] == 120


def test_wechats_limits_are_kept(live, sandbox):
    [o] = members(live, 1, "T00", prefix="oFull")
    with live.session() as s, s.begin():
        mid = s.scalar(select(Member.id).where(Member.openid == o))
        s.execute(insert(MemberTag), [{"member_id": mid, "tag": f"T{n:02d}", "created_by": "t",
                                       "created_at": utcnow()} for n in range(1, 25)])
    r = sync(live)
    assert (r.created, r.tagged, r.over_limit) == (25, 20, 5)
    assert len(sandbox.reach.user_tags(o)) == 20


def test_a_mass_send_by_tag_goes_out_once_even_after_a_timeout(live, sandbox):
    members(live, 3, "VIP")
    sync(live)
    tag_id = wechat_tags.wechat_id(live.session(), "VIP")
    live.rt.gateway.client.timeout = 0.3
    sandbox.inject("cgi-bin/message/mass/sendall", delay=1.0)
    with live.session() as uow, pytest.raises(GatewayError):
        mass_sends.send_to_tag(uow, live.rt.gateway, tag_id, "会员日快乐", "vip-day")
    time.sleep(0.8)
    with live.session() as uow:
        job = mass_sends.send_to_tag(uow, live.rt.gateway, tag_id, "会员日快乐", "vip-day")
    [sent] = sandbox.sent("mass")
    assert sorted(sent["request"]["touser"]) == ["oT0000", "oT0001", "oT0002"]
    assert (job.status, job.msg_id, job.attempts) == ("sent", sent["msgid"], 2)
    with live.session() as s, s.read():
        assert s.query(MassJob).count() == 1


def test_an_image_goes_to_a_tag_as_wechat_shapes_it(live, sandbox):
    members(live, 2, "VIP")
    sync(live)
    with live.session() as uow:
        job = mass_sends.send_to_tag(uow, live.rt.gateway, wechat_tags.wechat_id(uow, "VIP"),
                                     "", "vip-poster", media_id="MEDIA_POSTER")
    [sent] = sandbox.sent("mass")
    assert sent["request"]["msgtype"] == "image" and job.status == "sent"
    assert sent["request"]["image"] == {"media_id": "MEDIA_POSTER"}
    assert sent["request"]["filter"] == {"is_to_all": False, "tag_id": job.tag_id}


# ---- segments as WeChat tags ----------------------------------------------------------------

def _buyer(app, openid: str, orders: list[tuple[int, int]]) -> int:
    """A follower with paid orders (days ago, yuan)."""
    from wx_member.models import Order

    with app.session() as s, s.begin():
        m = Member(openid=openid, card_no=f"8{abs(hash(openid)) % 10**9:09d}", subscribed=True,
                   joined_at=utcnow() - timedelta(days=400), points_balance=0)
        s.add(m)
        s.flush()
        for n, (days, yuan) in enumerate(orders):
            s.add(Order(out_trade_no=f"SEG{openid}{n}", openid=openid, member_id=m.id,
                        amount_fen=yuan * 100, refunded_fen=0, status="paid", api="v2",
                        paid_at=utcnow() - timedelta(days=days)))
        return m.id


def _holders(sandbox, name: str) -> list[str]:
    [tag_id] = [t["id"] for t in sandbox.reach.tags()["tags"] if t["name"] == name]
    return sorted(o for o in ("oBig", "oOld", "oNew") if tag_id in sandbox.reach.user_tags(o))


def test_rfm_and_campaign_segments_become_wechat_tags_in_chinese(live, sandbox):
    from wx_member.console import member_admin
    from wx_member.pushes import campaigns

    big = _buyer(live, "oBig", [(5, 300), (20, 200)])  # recent, twice, big: 重要价值
    _buyer(live, "oOld", [(200, 30)])  # long ago, once, little: 一般挽留
    new = _buyer(live, "oNew", [])  # no order: 未消费
    with live.session() as s:
        member_admin.add_tag(s, big, "VIP", "test")
        c = campaigns.create(s, live.rt.pushes, campaigns.CampaignSpec(
            "会员日", {"tag": "VIP"}, "campaign", "周六会员日", scheduled_local=None),
            live.config, "otto")
    r = sync(live, segments=True)
    names = [t["name"] for t in sandbox.reach.tags()["tags"]]
    assert names == ["VIP", "RFM·重要价值", "RFM·重要发展", "RFM·重要保持", "RFM·重要挽留",
                     "RFM·一般价值", "RFM·一般发展", "RFM·一般保持", "RFM·一般挽留",
                     "RFM·未消费", f"活动{c.id}·会员日"]
    assert r.created == 11 and r.tagged == 1 + 3 + 1
    assert _holders(sandbox, "RFM·重要价值") == ["oBig"]
    assert _holders(sandbox, "RFM·一般挽留") == ["oOld"]
    assert _holders(sandbox, "RFM·未消费") == ["oNew"]
    assert _holders(sandbox, f"活动{c.id}·会员日") == ["oBig"]
    again = sync(live, segments=True)  # idempotent: nothing changed, nothing sent
    assert (again.created, again.tagged, again.untagged, again.calls) == (0, 0, 0, 0)
    _buyer(live, "oSpare", [])
    with live.session() as s, s.begin():  # oNew buys, a lot: leaves 未消费
        from wx_member.models import Order
        for n in range(3):
            s.add(Order(out_trade_no=f"SEGnew{n}", openid="oNew", member_id=new, amount_fen=90000,
                        refunded_fen=0, status="paid", api="v2", paid_at=utcnow() - timedelta(days=1)))
    with live.session() as s:
        campaigns.cancel(s, c.id, "otto")  # no longer a live segment: its members untagged
    moved = sync(live, segments=True)
    assert moved.created == 0 and moved.untagged >= 2
    assert _holders(sandbox, "RFM·未消费") == []
    assert "oNew" in _holders(sandbox, "RFM·重要价值")
    assert _holders(sandbox, f"活动{c.id}·会员日") == []


def test_segment_tags_at_wechats_limits(live, sandbox):
    """100 tags per account: operators' tags first, then segments in order until the
    account is full, the rest counted; 20 per member: the rest of a member's left out."""
    [o] = members(live, 1, "T00", prefix="oMany")
    with live.session() as s, s.begin():
        mid = s.scalar(select(Member.id).where(Member.openid == o))
        s.execute(insert(MemberTag), [{"member_id": mid, "tag": f"T{n:02d}", "created_by": "t",
                                       "created_at": utcnow()} for n in range(1, 95)])
    r = sync(live, segments=True)
    names = [t["name"] for t in sandbox.reach.tags()["tags"]]
    assert len(names) == 100 and names[-1] == "RFM·一般价值"  # 95 + the first five
    assert r.tags_left_out == 9 - 5  # the other RFM segments (no campaign)
    # oMany (no order) would carry RFM·未消费, which did not fit: only its 20 of T00…T94
    assert len(sandbox.reach.user_tags(o)) == 20 and r.over_limit == 75
    again = sync(live, segments=True)
    assert (again.created, again.tagged, again.calls) == (0, 0, 0)


def test_the_cli_syncs_and_sends_to_a_tag_once_with_the_consoles_checks(live, sandbox):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import APPID, SECRET
    from wx_member.platform import audit

    def cli(*args):
        env = {**os.environ, "DATABASE_URL": live.config.database_url,
               "WX_API_BASE": sandbox.url, "WX_APPID": APPID, "WX_SECRET": SECRET}
        return subprocess.run([str(Path(sys.executable).parent / "wx-member"), *args], env=env,
                              capture_output=True, text=True, timeout=60)

    members(live, 3, "VIP")
    out = cli("push", "mass-tag", "VIP", "会员日快乐", "--occasion", "vip-day")
    assert out.returncode == 2 and "is not at WeChat yet" in out.stderr
    assert cli("push", "sync-tags", "--no-segments").returncode == 0
    out = cli("push", "mass-tag", "VIP", "   ", "--occasion", "vip-day")
    assert out.returncode == 2 and "请填写群发的文字内容" in out.stderr
    assert sandbox.sent("mass") == []
    out = cli("push", "mass-tag", "VIP", "会员日快乐", "--occasion", "vip-day", "--by", "王店长")
    [sent] = sandbox.sent("mass")
    assert out.returncode == 0 and out.stdout.strip() == \
        f"mass send vip-day: sent, msg_id {sent['msgid']}"
    out = cli("push", "mass-tag", "VIP", "会员日快乐", "--occasion", "vip-day")
    assert out.returncode == 0 and "not sent again" in out.stdout
    assert len(sandbox.sent("mass")) == 1
    with live.session() as s, s.read():
        [entry] = [e for e in audit.entries(s, 20) if e.action == "push.mass_tag"]
    assert entry.actor == "王店长"


def test_a_sync_with_a_time_budget_stops_between_rounds_and_the_next_goes_on(live, sandbox):
    """The console gives a sync the seconds its request has (the worker's timeout would kill
    it holding the lease): spent, no new round starts, but each run makes progress."""
    vip = members(live, 3, "VIP")
    with live.session() as s, s.begin():  # two of them are Gold too
        ids = s.scalars(select(Member.id).where(Member.openid.in_(vip[:2]))).all()
        s.execute(insert(MemberTag), [{"member_id": i, "tag": "Gold", "created_by": "test",
                                       "created_at": utcnow()} for i in ids])
    with live.session() as uow:
        first = wechat_tags.sync(uow, live.rt.gateway, segments=False, budget=0)
    assert (first.unfinished, first.created, first.tagged) == (True, 2, 0)
    with live.session() as uow:  # the lease was given back: the next click runs at once
        second = wechat_tags.sync(uow, live.rt.gateway, segments=False, budget=0)
    assert (second.unfinished, second.created, second.tagged) == (True, 0, 2)  # Gold's round
    with live.session() as uow:
        rest = wechat_tags.sync(uow, live.rt.gateway, segments=False)
    assert (rest.unfinished, rest.tagged) == (False, 3)
    counts = {t["name"]: t["count"] for t in sandbox.reach.tags()["tags"]}
    assert (counts["VIP"], counts["Gold"]) == (3, 2)
