"""Campaigns by segment, on SQLite and MariaDB, with a frozen clock: scheduled → planned once
at its time through the push machinery (frequency cap, 48-hour window, quiet hours), sent
through the sandbox, a coupon for the segment; cancelled before its time → nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import make_config, serve
from push_helpers import at, rows, send
from wx_member.models import (AuditLog, Campaign, Coupon, Delivery, Member, MemberTag, Setting,
                              utcnow)
from wx_member.pushes import campaign_runs, campaigns
from wx_member.platform import settings
from wx_member.pushes.campaigns import CampaignSpec, InvalidCampaign
from wx_member.coupons.templates import UnknownTemplate
from wx_member.insights.segments import InvalidSegment

CREATED = at("2026-12-01 09:00")
SENDS = at("2026-12-05 10:00")  # Saturday 10:00 in Shanghai
TEXT = "本周六会员日，全场饮品8折。"


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox))


@pytest.fixture
def vips(app, sandbox):
    """Four VIPs and one other member. oVip1-3 wrote to the account within 48 hours of the
    send; oVip4 did not (a customer-service message cannot reach them); oVip3 had two
    marketing pushes this week already (the cap). No mass sends (群发) in this programme:
    the 48-hour rule alone decides who a campaign reaches."""
    with app.session() as s, s.begin():
        s.add(Setting(key="mass_sends_per_month", value=0, updated_by="test"))
        for i, openid in enumerate(["oVip1", "oVip2", "oVip3", "oVip4", "oOther"], 1):
            recent = openid != "oVip4"
            m = Member(openid=openid, card_no=f"80000000{i}", tier="normal", points_balance=10 * i,
                       subscribed=True, joined_at=CREATED - timedelta(days=30),
                       last_seen_at=SENDS - timedelta(hours=2 if recent else 72),
                       window_at=SENDS - timedelta(hours=2 if recent else 72))
            s.add(m)
            s.flush()
            if openid.startswith("oVip"):
                s.add(MemberTag(member_id=m.id, tag="VIP", created_by="test"))
            if recent:
                sandbox.interact(openid)
            if openid == "oVip3":
                s.add_all(Delivery(member_id=m.id, openid=openid, kind="holiday", occasion=f"x{n}",
                                   channel="custom", marketing=True, payload={}, status="sent",
                                   created_at=SENDS - timedelta(days=n)) for n in (1, 2))
    return app


def spec(**kw) -> CampaignSpec:
    values = dict(name="会员日", segment={"tag": "VIP"}, kind="campaign", message=TEXT,
                  scheduled_local=datetime(2026, 12, 5, 10, 0))
    return CampaignSpec(**{**values, **kw})


def create(app, **kw) -> Campaign:
    with app.session() as s:
        return campaigns.create(s, app.rt.pushes, spec(**kw), app.config, "otto", now=CREATED)


def plan_due(app, now):
    with app.session() as s:
        return campaign_runs.plan_due(s, app.rt.pushes, app.config, now=now)


def progress(app, campaign_id):
    with app.session() as s:
        return campaigns.progress(s, [campaigns.get(s, campaign_id)])[campaign_id]


def test_scheduled_campaign_is_planned_once_at_its_time(vips, sandbox):
    app = vips
    c = create(app, coupon_template_id=2)  # 满50减10, every tier
    assert c.scheduled_at == datetime(2026, 12, 5, 2, 0)  # 10:00 Shanghai, stored as UTC
    assert plan_due(app, SENDS - timedelta(minutes=1)) == {}
    assert [d for d in rows(app) if d.kind == "campaign"] == []  # nothing planned yet
    [(cid, result)] = plan_due(app, SENDS).items()
    assert cid == c.id and (result.planned, result.capped) == (2, 1)
    assert plan_due(app, SENDS + timedelta(minutes=1)) == {}  # done: nothing again
    # A planner that died mid-way leaves it running: a re-run adds none.
    with app.session() as s, s.write():
        s.get(Campaign, c.id).status = "running"
    assert plan_due(app, SENDS + timedelta(minutes=2))[c.id].planned == 0
    mine = [d for d in rows(app) if d.kind == "campaign"]
    assert sorted((d.openid, d.status, d.occasion) for d in mine) == [
        ("oVip1", "queued", f"campaign:{c.id}"), ("oVip2", "queued", f"campaign:{c.id}"),
        ("oVip3", "skipped", f"campaign:{c.id}")]
    assert send(app, SENDS).sent == 2
    said = {m["request"]["touser"]: m["request"]["text"]["content"] for m in sandbox.sent("custom")}
    assert set(said) == {"oVip1", "oVip2"}
    assert said["oVip1"].startswith(f"【会员俱乐部】{TEXT}\n送您一张优惠券：满50减10，已放入您的账户。")
    assert "会员卡号 800000001，当前积分 10" in said["oVip1"]
    with app.session() as s, s.read():  # the coupon went to the whole segment, once each
        causes = sorted(s.scalars(select(Coupon.cause).where(Coupon.template_id == 2)))
        vip_ids = sorted(s.scalars(select(Member.id).where(Member.openid.like("oVip%"))))
        assert causes == sorted(f"campaign:seg-{c.id}:{i}" for i in vip_ids)
        row = s.get(Campaign, c.id)
        assert (row.status, row.members, row.started_at) == ("done", 4, SENDS)
    p = progress(app, c.id)
    assert (p.planned, p["sent"], p["skipped"], p["queued"], p.coupons) == (3, 2, 1, 0, 4)


def test_cancelled_before_its_time_plans_nothing(vips, sandbox):
    app = vips
    c = create(app)
    with app.session() as s:
        campaigns.cancel(s, c.id, "otto", now=SENDS - timedelta(hours=1))
    assert plan_due(app, SENDS) == {}
    assert [d for d in rows(app) if d.kind == "campaign"] == []
    with app.session() as s, pytest.raises(InvalidCampaign):
        campaigns.cancel(s, c.id, "otto")  # twice: refused
    other = create(app)
    plan_due(app, SENDS)
    with app.session() as s, pytest.raises(InvalidCampaign) as exc:
        campaigns.cancel(s, other.id, "otto")  # already planned: too late
    assert exc.value.user_message.startswith("活动已开始")
    with app.session() as s, s.read():
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions == ["campaign.create", "campaign.cancel", "campaign.create"]
        assert s.get(Campaign, c.id).status == "cancelled"


def test_quiet_hours_hold_a_late_campaign_until_morning(vips, sandbox):
    app = vips
    c = create(app, scheduled_local=datetime(2026, 12, 4, 22, 30))
    late = at("2026-12-04 22:30")
    with app.session() as s, s.begin():  # the members wrote at 21:00 that evening
        for m in s.scalars(select(Member).where(Member.openid != "oVip4")):
            m.last_seen_at = m.window_at = late - timedelta(hours=1)
    assert plan_due(app, late)[c.id].planned == 2
    assert send(app, late).sent == 0  # 21:00 → 09:00 quiet hours (defaults)
    assert send(app, at("2026-12-05 09:00")).sent == 2
    assert progress(app, c.id)["sent"] == 2


def test_preview_renders_for_the_segments_first_member(vips):
    app = vips
    with app.session() as s:
        p = campaigns.preview(s, app.rt.pushes, spec(coupon_template_id=2), app.config,
                              now=CREATED)
    assert (p.segment_text, p.members, p.sample.openid) == ("标签「VIP」", 4, "oVip1")
    assert p.body["text"].startswith(f"【会员俱乐部】{TEXT}\n送您一张优惠券：满50减10")
    assert "800000001" in p.body["text"]
    with app.session() as s:
        empty = campaigns.preview(s, app.rt.pushes, spec(segment={"tier": "diamond"}),
                                  app.config, now=CREATED)
    assert (empty.members, empty.sample) == (0, None)


@pytest.mark.parametrize("changes, error", [
    ({"kind": "birthday"}, InvalidCampaign),  # a service template message: never a campaign
    ({"kind": "nope"}, InvalidCampaign),
    ({"message": " "}, InvalidCampaign),
    ({"message": "长" * 301}, InvalidCampaign),
    ({"name": ""}, InvalidCampaign),
    ({"scheduled_local": datetime(2026, 11, 30, 9, 0)}, InvalidCampaign),  # the past
    ({"scheduled_local": datetime(2028, 1, 1, 9, 0)}, InvalidCampaign),  # over a year ahead
    ({"segment": {"tier": "platinum"}}, InvalidSegment),
    ({"coupon_template_id": 999}, UnknownTemplate),
])
def test_bad_campaigns_are_refused_and_write_nothing(app, changes, error):
    with app.session() as s, pytest.raises(error):
        campaigns.create(s, app.rt.pushes, spec(**changes), app.config, "otto", now=CREATED)
    with app.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_other_marketing_kinds_may_be_campaigns(vips, sandbox):
    app = vips
    assert set(campaigns.campaign_kinds(app.rt.pushes)) >= {"campaign", "holiday", "winback"}
    assert not {"birthday", "points_expiry", "order_shipped"} & set(
        campaigns.campaign_kinds(app.rt.pushes))
    c = create(app, kind="holiday", message="")
    plan_due(app, SENDS)
    send(app, SENDS)
    assert len(sandbox.sent("custom")) == 2
    assert all("中秋节" in m["request"]["text"]["content"] for m in sandbox.sent("custom"))
    assert progress(app, c.id)["sent"] == 2


def test_the_scheduler_job_plans_a_campaign_due_now(vips, sandbox):
    from wx_member import scheduler

    app = vips
    jobs = {job.id: job for job in scheduler.build_scheduler(app.rt).get_jobs()}
    assert jobs["plan_campaigns"].trigger.interval == timedelta(seconds=60)
    with app.session() as s:  # the real clock: no quiet hours, members seen just now
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
        c = campaigns.create(s, app.rt.pushes, spec(scheduled_local=None), app.config, "otto")
    with app.session() as s, s.begin():
        for m in s.scalars(select(Member)):
            m.last_seen_at = m.window_at = utcnow() - timedelta(hours=1)
        # oVip3's two marketing pushes in the seven days before the real clock's now (the
        # fixture dates them before SENDS, which the real clock leaves behind within a week)
        for n, d in enumerate(s.scalars(select(Delivery).where(Delivery.openid == "oVip3")), 1):
            d.created_at = utcnow() - timedelta(hours=n)
    scheduler.campaigns_job()
    assert sorted(m["request"]["touser"] for m in sandbox.sent("custom")) == ["oVip1", "oVip2"]
    assert progress(app, c.id)["sent"] == 2


def test_the_cli_forecasts_a_console_campaign_and_names_an_unknown_one(vips, sandbox):
    """`wx-member push forecast KIND --campaign ID`: the campaign's segment as planning it
    now would see it (the four VIPs, not the other member), nothing planned or sent."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import APPID, SECRET

    app = vips
    c = create(app)
    env = {**os.environ, "DATABASE_URL": app.config.database_url, "WX_API_BASE": sandbox.url,
           "WX_APPID": APPID, "WX_SECRET": SECRET}
    run = lambda *args: subprocess.run(  # noqa: E731
        [str(Path(sys.executable).parent / "wx-member"), "push", "forecast", *args], env=env,
        capture_output=True, text=True, timeout=60)
    out = run("campaign", "--campaign", str(c.id))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("campaign: targeted 4, ")
    with app.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Delivery)) == 2  # oVip3's two, from before
    missing = run("campaign", "--campaign", str(c.id + 100))
    assert missing.returncode != 0 and f"no campaign {c.id + 100}" in missing.stderr
