"""Planned pushes end to end: members join over the webhook, planners run at a frozen
time, the app sends through the sandbox over HTTP, WeChat's reports come back."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import select

from conftest import make_config, serve
from push_helpers import TEMPLATE_IDS, at, join, plan, rows, send, statuses
from wx_member.models import Member, MemberReach
from wx_member.pushes import calendar
from wx_member.members import membership
from wx_member.loyalty import points
from wx_member.pushes import planners
from wx_member.platform import settings


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS)))


@pytest.fixture
def wx(app):
    return app.simulator()


def test_calendar_has_lunar_festivals():
    days = {g.key: g.day.isoformat() for g in calendar.greetings(2026)}
    assert days["spring_festival"] == "2026-02-17" and days["lantern"] == "2026-03-03"
    assert days["dragon_boat"] == "2026-06-19" and days["mid_autumn"] == "2026-09-25"
    next_year = {g.key: g.day.isoformat() for g in calendar.greetings(2027)}
    assert next_year["mid_autumn"] == "2027-09-15"
    shop = calendar.on(at("2026-11-18 10:00").date(), [{"key": "shop", "name": "店庆",
                                                         "date": "11-18"}])
    assert [g.name for g in shop] == ["店庆"]


def test_holiday_greeting_goes_out_on_the_festival_once(app, wx, sandbox):
    join(wx, ["oA", "oB", "oC"], at("2026-09-25 08:00"), sandbox)
    assert plan(app, "holiday", at("2026-09-24 10:00")).planned == 0  # the day before
    first = plan(app, "holiday", at("2026-09-25 10:00"))
    assert first.occasions == ["2026:mid_autumn"] and first.planned == 3
    assert send(app, at("2026-09-25 10:00")).sent == 3
    # The scheduler restarted and ran the job again; an operator ran it by hand too.
    plan(app, "holiday", at("2026-09-25 10:05"))
    send(app, at("2026-09-25 10:05"))
    sent = sandbox.sent("custom")
    assert sorted(m["request"]["touser"] for m in sent) == ["oA", "oB", "oC"]
    assert "中秋节快乐" in sent[0]["request"]["text"]["content"]
    assert set(statuses(app, "holiday").values()) == {"sent"}


def test_quiet_hours_postpone_and_frequency_cap(app, wx, sandbox):
    join(wx, ["oA"], at("2026-10-01 20:00"), sandbox)
    plan(app, "holiday", at("2026-10-01 22:00"))  # 国庆节, planned late
    assert send(app, at("2026-10-01 22:00")).sent == 0
    assert statuses(app) == {"oA": "queued"}
    assert send(app, at("2026-10-02 09:00")).sent == 1  # quiet hours over
    with app.session() as s:
        settings.change(s, "marketing_pushes_per_week", 1, by="test")
    result = plan(app, "holiday", at("2026-10-06 10:00"))  # no festival: nothing
    assert result.planned == 0
    # The shop's own day, two days later: the member already had a marketing push this week.
    app.rt.pushes["holiday"].options["days"] = [{"key": "shop", "name": "店庆", "date": "10-03"}]
    capped = plan(app, "holiday", at("2026-10-03 10:00"))
    assert capped.planned == 0 and capped.capped == 1
    assert [(d.occasion, d.status, d.error) for d in rows(app)] == [
        ("2026:national_day", "sent", None), ("2026:shop", "skipped", "frequency cap")]
    assert len(sandbox.sent("custom")) == 1


def test_points_expiry_notices_30_and_7_days_before(app, wx, sandbox):
    join(wx, ["oA", "oB"], at("2026-11-01 09:00"))
    with app.session() as s, s.begin():
        points.post(s, membership.require(s, "oA"), 100, "adjust", "lot:a",
                    expires_at=at("2026-12-31 23:00"))
    plan(app, "points_expiry", at("2026-12-01 10:00"))  # 30 days before the local day
    plan(app, "points_expiry", at("2026-12-02 10:00"))  # nothing: 29 days
    plan(app, "points_expiry", at("2026-12-24 10:00"))  # 7 days before
    send(app, at("2026-12-24 10:00"))
    sent = sandbox.sent("template")
    assert [m["request"]["touser"] for m in sent] == ["oA", "oA"]  # oB has no expiring lot
    data = sent[0]["request"]["data"]
    assert data["number2"]["value"] == "100"  # the lot, within the balance (10 + 100)
    assert data["time3"]["value"] == "2026-12-31"
    assert sent[0]["request"]["template_id"] == "TPL_EXPIRY"
    assert sorted(d.occasion for d in rows(app)) == ["2026-12-31:30d", "2026-12-31:7d"]


def test_birthday_and_wechat_delivery_reports(app, wx, sandbox):
    join(wx, ["oA", "oB", "oC"], at("2026-05-01 09:00"))
    with app.session() as s, s.begin():
        for openid in ("oA", "oB"):
            membership.require(s, openid).birthday = at("1990-05-20 12:00")
    plan(app, "birthday", at("2026-05-20 10:00"))
    plan(app, "birthday", at("2026-05-20 11:00"))
    assert send(app, at("2026-05-20 11:00")).sent == 2
    msgid = {d.openid: d.msgid for d in rows(app, "birthday")}
    assert all(msgid.values()) and set(msgid) == {"oA", "oB"}
    wx.template_finished("oA", msgid["oA"], "success")
    wx.template_finished("oB", msgid["oB"], "failed:user block")
    assert statuses(app, "birthday") == {"oA": "delivered", "oB": "failed"}
    with app.session() as s, s.read():
        blocked = s.scalars(select(MemberReach.channel)
                            .join(Member, Member.id == MemberReach.member_id)
                            .where(Member.openid == "oB")).all()
    assert blocked == ["template"]
    # Next year oB, who blocked template messages, is not planned.
    assert plan(app, "birthday", at("2027-05-20 10:00")).planned == 1


def test_dry_run_sends_to_test_openids_only(app, wx, sandbox):
    join(wx, ["oA", "oB"], at("2026-05-01 09:00"))
    with app.session() as s:
        result = planners.dry_run(s, app.rt.pushes["points_expiry"], "check", ["oTester", "oA"],
                                   app.config, at("2026-05-01 10:00"))
    assert result.planned == 2
    send(app, at("2026-05-01 10:00"))
    assert sorted(m["request"]["touser"] for m in sandbox.sent("template")) == ["oA", "oTester"]
    assert all(d.dry_run for d in rows(app))
    # A real run later is not blocked by the dry run's rows.
    assert statuses(app, "points_expiry") == {"oTester": "sent", "oA": "sent"}


def test_kind_without_template_id_is_disabled(live):
    with live.session() as s, pytest.raises(planners.PushDisabled, match="WX_TEMPLATE_BIRTHDAY"):
        planners.plan(s, live.rt.pushes, "birthday", live.config)


def test_scheduler_fires_each_job_at_its_local_hour(app):
    from wx_member.scheduler import build_scheduler

    scheduler = build_scheduler(app.rt)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"plan:holiday", "plan:birthday", "plan:points_expiry", "send_due",
            "prune_inbound_events"} <= set(jobs)
    now = at("2026-09-25 09:30").replace(tzinfo=timezone.utc)
    nxt = jobs["plan:holiday"].trigger.get_next_fire_time(None, now)
    assert nxt.isoformat() == "2026-09-25T10:00:00+08:00"
    later = jobs["plan:holiday"].trigger.get_next_fire_time(nxt, nxt + timedelta(seconds=1))
    assert later.isoformat() == "2026-09-26T10:00:00+08:00"  # once a day
