"""Tags synced to WeChat (issue 15) through the sandbox: created once, members tagged 50 a
call, the difference only on a second run, untagged when the tag is removed, resumed after
a failure halfway, WeChat's limits kept; then a mass send by tag goes out once."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import insert, select

from wx_member.clock import utcnow
from wx_member.models import MassJob, Member, MemberTag, WechatTagMember
from wx_member.pushes import mass_sends, wechat_tags
from wx_member.wechat.gateway import GatewayError

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


def sync(app):
    with app.session() as uow:
        return wechat_tags.sync(uow, app.rt.gateway)


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
