"""A channel per member, chosen by rules (issue 15), end to end over HTTP: members join and
pay through the simulator and WeChat Pay notifies, the forecast says who each channel
reaches and why the rest cannot be reached, planning plans exactly that, and the sandbox
receives exactly that: subscribe messages where a grant is left, customer service within
48 hours, a mass send (群发) for the dormant, none past the monthly limit."""
from __future__ import annotations

import secrets
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from conftest import APPID, MCH_ID, make_config, serve
from push_helpers import rows
from wx_member.clock import utcnow
from wx_member.models import Delivery, MassJob, Member
from wx_member.pushes import deliveries, planners, reach, subscriptions
from wx_member.sandbox.pay import BEIJING, PayNotifier

TEMPLATES = {"winback_bizsend": "TPL_WB_BIZ", "winback_subscribe": "TPL_WB_MINI"}
MASS = "cgi-bin/message/mass/send"


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, mch_id=MCH_ID, mini_appid="wxmini0000000001",
                                 pay_api_key=secrets.token_hex(16),
                                 template_ids=dict(TEMPLATES)))


def dormant(app, sandbox, openids, days: int = 200):
    """Members who joined and last paid `days` ago, and have not been seen since."""
    wx = app.simulator()
    payer = PayNotifier(app.url, APPID, MCH_ID, api_key=app.config.pay_api_key)
    long_ago = utcnow() - timedelta(days=days)
    paid = (datetime.now(BEIJING) - timedelta(days=days)).strftime("%Y%m%d%H%M%S")
    for openid in openids:
        assert wx.subscribe(openid).status == 200
        assert payer.v2_payment(openid, f"WB{openid}", 3000, time_end=paid).ok
    with app.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid.in_(openids))
                  .values(joined_at=long_ago, last_seen_at=long_ago, window_at=long_ago))
    return wx


def member_id(app, openid: str) -> int:
    with app.session() as s, s.read():
        return s.scalar(select(Member.id).where(Member.openid == openid))


def forecast(app, kind="winback", now=None):
    with app.session() as uow:
        return planners.forecast(uow, app.rt.pushes, kind, app.config, now=now)


def plan(app, kind="winback", now=None):
    with app.session() as uow:
        return planners.plan(uow, app.rt.pushes, kind, app.config, now=now)


def send(app, now=None):
    with app.session() as uow:
        return deliveries.send_due(uow, app.rt.gateway, app.config.tz, now=now)


def at_wechat(sandbox) -> Counter:
    """Recipients per channel, as WeChat received them."""
    got = Counter()
    for m in sandbox.sent():
        r = m["request"]
        if m["kind"] in ("template", "subscribe", "bizsend", "custom"):
            got[m["kind"]] += 1
        elif m["kind"] == "mass":
            got["mass"] += len(r["touser"])
    return got


def quiet_off(app):
    from wx_member.platform import settings
    with app.session() as uow:
        settings.change(uow, "quiet_start_hour", 0, "test")
        settings.change(uow, "quiet_end_hour", 0, "test")


def test_each_member_gets_the_first_channel_that_reaches_them_as_forecast(app, sandbox):
    quiet_off(app)
    wx = dormant(app, sandbox, ["oBiz", "oMini", "oText", "oMass1", "oMass2", "oFull", "oGone"])
    # oBiz accepted the account's subscribe message; oMini the mini-program's.
    with app.session() as uow:
        subscriptions.record(uow, member_id(app, "oBiz"), {"TPL_WB_BIZ": "accept"})
        subscriptions.record(uow, member_id(app, "oMini"), {"TPL_WB_MINI": "accept"})
    sandbox.grant_subscribe("oBiz", "TPL_WB_BIZ")
    sandbox.grant_subscribe("mMini", "TPL_WB_MINI")
    with app.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid == "oMini").values(mini_openid="mMini"))
        # oFull had this month's four mass messages already (this local month's, also in
        # its first minutes: WeChat counts a calendar month).
        full, now = member_id(app, "oFull"), utcnow()
        this_month = reach.month_start(now, app.config.tz)
        s.add_all(Delivery(member_id=full, openid="oFull", kind="holiday", occasion=f"m{n}",
                           channel="mass", marketing=True, payload={}, status="sent",
                           created_at=max(this_month, now - timedelta(minutes=n)))
                  for n in range(1, 5))
    with app.session() as s, s.begin():  # not in the weekly cap of marketing pushes
        s.execute(update(Delivery).where(Delivery.openid == "oFull").values(marketing=False))
    assert wx.text("oText", "还在吗").status == 200  # an hour's worth of window, and more
    sandbox.interact("oText")
    assert wx.unsubscribe("oGone").status == 200

    expected = forecast(app)
    assert expected.targeted == 7
    assert expected.by_channel == {"bizsend": 1, "subscribe": 1, "custom": 1, "mass": 2}
    assert expected.unreachable == {
        ("bizsend:no_grant", "subscribe:no_openid", "custom:window", "mass:mass_limit"): 1,
        ("bizsend:unfollowed", "subscribe:no_openid", "custom:unfollowed",
         "mass:unfollowed"): 1}
    assert rows(app, "winback") == []  # a forecast writes nothing

    result = plan(app)
    assert result.by_channel == expected.by_channel and result.planned == expected.reachable
    send(app)
    assert at_wechat(sandbox) == expected.by_channel
    chosen = {d.openid: d.channel for d in rows(app, "winback")}
    assert chosen == {"oBiz": "bizsend", "mMini": "subscribe", "oText": "custom",
                      "oMass1": "mass", "oMass2": "mass"}
    assert {d.status for d in rows(app, "winback")} == {"sent"}
    [mass] = sandbox.sent("mass")
    assert sorted(mass["request"]["touser"]) == ["oMass1", "oMass2"]
    assert "好久不见" in mass["request"]["text"]["content"]
    # Each subscribe message used the member's one grant: none left for a second one.
    with app.session() as uow:
        assert subscriptions.remaining(uow, member_id(app, "oBiz")) == {"TPL_WB_BIZ": 0}


def test_a_dormant_member_is_won_back_by_mass_send_or_reported_unreachable(app, sandbox):
    quiet_off(app)
    dormant(app, sandbox, ["oA", "oB"])
    # The app's own 48-hour rule and WeChat's agree: no customer-service message.
    f = forecast(app)
    assert (f.by_channel, f.unreachable_total) == ({"mass": 2}, 0)
    plan(app)
    send(app)
    assert at_wechat(sandbox) == {"mass": 2} and sandbox.sent("custom") == []
    # With mass sends off, the same members are unreachable, and why.
    from wx_member.platform import settings
    with app.session() as uow:
        settings.change(uow, "mass_sends_per_month", 0, "test")
    later = utcnow() + timedelta(days=61)
    f = forecast(app, now=later)
    assert f.by_channel == {} and f.unreachable == {
        ("bizsend:no_grant", "subscribe:no_openid", "custom:window", "mass:mass_limit"): 2}


def test_a_retried_mass_send_after_a_timeout_goes_out_once(app, sandbox):
    quiet_off(app)
    dormant(app, sandbox, ["oA", "oB"])
    plan(app)
    app.rt.gateway.client.timeout = 0.3
    sandbox.inject(MASS, delay=1.0)  # WeChat got it, answered too late
    send(app)
    assert {d.status for d in rows(app, "winback")} == {"sending"}
    time.sleep(0.8)  # the sandbox finishes the first call
    send(app)  # the same clientmsgid: 45065 with the earlier msg_id
    assert {d.status for d in rows(app, "winback")} == {"sent"}
    assert len(sandbox.sent("mass")) == 1
    with app.session() as s, s.read():
        [job] = s.scalars(select(MassJob))
        assert job.msg_id == sandbox.sent("mass")[0]["msgid"] and job.attempts == 2
        assert {d.msgid for d in rows(app, "winback")} == {job.msg_id}


def test_wechat_reports_the_mass_send_to_the_webhook(app, sandbox):
    quiet_off(app)
    dormant(app, sandbox, ["oA", "oB"])
    sandbox.reach.report_to(app.webhook, app.config.token, app.config.appid)
    plan(app)
    send(app)
    assert sandbox.reach.flush_reports() == 1
    with app.session() as s, s.read():
        [job] = s.scalars(select(MassJob))
    assert (job.status, job.report, job.total, job.filtered, job.sent_count, job.errors) == (
        "finished", "send success", 2, 0, 2, 0)
    assert {d.status for d in rows(app, "winback")} == {"delivered"}


def test_the_sandbox_keeps_the_monthly_limit_of_mass_messages(sandbox, app):
    gw = app.rt.gateway
    text = {"msgtype": "text", "text": {"content": "会员日"}}
    for n in range(5):
        gw.mass_send(text, f"limit-{n}", openids=["oA", "oB"])
    assert sandbox.reach.mass_received("oA") == 4  # the fifth was filtered
    assert [len(m["request"]["touser"]) for m in sandbox.sent("mass")] == [2, 2, 2, 2, 0]


def test_a_member_who_wrote_an_hour_ago_gets_a_customer_service_message(app, sandbox):
    quiet_off(app)
    wx = dormant(app, sandbox, ["oA", "oB", "oC"])
    assert wx.text("oA", "你好，在吗？").status == 200
    sandbox.interact("oA")
    an_hour_later = utcnow() + timedelta(hours=1)
    f = forecast(app, now=an_hour_later)
    assert f.by_channel == {"custom": 1, "mass": 2}
    assert plan(app, now=an_hour_later).by_channel == f.by_channel
    send(app, now=an_hour_later)
    [custom] = sandbox.sent("custom")
    assert custom["request"]["touser"] == "oA" and "好久不见" in custom["request"]["text"]["content"]
    assert at_wechat(sandbox) == f.by_channel


def test_the_cli_forecasts_and_previews_a_mass_send(app, sandbox):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import SECRET

    quiet_off(app)
    dormant(app, sandbox, ["oA", "oB"])
    env = {**os.environ, "DATABASE_URL": app.config.database_url, "WX_API_BASE": sandbox.url,
           "WX_APPID": APPID, "WX_SECRET": SECRET}
    run = lambda *args: subprocess.run(  # noqa: E731
        [str(Path(sys.executable).parent / "wx-member"), *args], env=env, capture_output=True,
        text=True, timeout=60)
    out = run("push", "forecast", "winback")
    assert out.returncode == 0, out.stderr
    assert "targeted 2, reachable 2, capped 0, unreachable 0" in out.stdout
    assert "群发消息 (mass): 2" in out.stdout
    assert rows(app, "winback") == []
    out = run("push", "run", "winback", "--dry-run", "--to", "oTester", "--channel", "mass")
    assert out.returncode == 0, out.stderr
    [preview] = sandbox.sent("preview")
    assert preview["request"]["touser"] == "oTester" and sandbox.sent("mass") == []
    assert "好久不见" in preview["request"]["text"]["content"]


def test_the_accounts_subscribe_notice_popup_grants_what_bizsend_spends(app, sandbox):
    """WeChat posts subscribe_msg_popup_event when a follower answers the account's
    subscribe-notice pop-up: each accept is one bizsend; a retried post counts once; turning
    the notice off in the settings (subscribe_msg_change_event, reject) leaves none."""
    quiet_off(app)
    wx = dormant(app, sandbox, ["oPop", "oNo"])
    wx = app.simulator(sandbox=sandbox)  # as WeChat: the grant is known at its end too
    first = wx.subscribe_notice("oPop", {"TPL_WB_BIZ": "accept", "TPL_OTHER": "reject"}, scene=2)
    assert first.status == 200 and first.body == "success"
    assert wx.replay(first).status == 200  # WeChat's retry: the same event, counted once
    assert wx.subscribe_notice("oNo", {"TPL_WB_BIZ": "reject"}).status == 200
    with app.session() as uow:
        assert subscriptions.remaining(uow, member_id(app, "oPop")) == {"TPL_WB_BIZ": 1}
        assert subscriptions.remaining(uow, member_id(app, "oNo")) == {}
    expected = forecast(app)
    assert expected.by_channel["bizsend"] == 1
    plan(app)
    send(app)
    [biz] = sandbox.sent("bizsend")
    assert (biz["request"]["touser"], biz["request"]["template_id"]) == ("oPop", "TPL_WB_BIZ")
    with app.session() as uow:  # spent: none left for the next one
        assert subscriptions.remaining(uow, member_id(app, "oPop")) == {"TPL_WB_BIZ": 0}
    # Two more accepted, then the notice turned off in the settings: nothing left.
    wx.subscribe_notice("oPop", {"TPL_WB_BIZ": "accept"})
    wx.subscribe_notice("oPop", {"TPL_WB_BIZ": "accept"})
    with app.session() as uow:
        assert subscriptions.remaining(uow, member_id(app, "oPop")) == {"TPL_WB_BIZ": 2}
    assert wx.subscribe_notice("oPop", {"TPL_WB_BIZ": "reject"}, changed=True).status == 200
    with app.session() as uow:
        assert subscriptions.remaining(uow, member_id(app, "oPop")) == {"TPL_WB_BIZ": 0}
    assert forecast(app).by_channel.get("bizsend", 0) == 0
