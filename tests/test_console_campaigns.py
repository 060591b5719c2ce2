"""Campaigns in the console over HTTP: a push kind's preview and dry run; campaigns by
segment previewed, scheduled, watched, cancelled; CSRF and roles."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import make_config, serve
from console_helpers import logged_in
from helpers import member
from push_helpers import TEMPLATE_IDS

from wx_member import scheduler
from wx_member.models import AuditLog, Campaign, Delivery, utcnow
from wx_member.pushes import campaign_runs, campaigns, deliveries
from wx_member.console import member_admin
from wx_member.platform import settings


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS),
                                 secret_key=secrets.token_hex(32), cookie_secure=False))


def test_preview_for_a_member_and_dry_run_to_test_openids(app, sandbox):
    with app.session() as s:  # no quiet hours: the test must not depend on the clock
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    app.simulator().subscribe("oAmy")
    card = member(app, "oAmy").card_no
    b = logged_in(app, "otto", "operator")
    sample = b.get("/admin/campaigns?kind=points_expiry").text
    assert "按示例数据渲染" in sample and "TPL_EXPIRY" in sample
    mine = b.get(f"/admin/campaigns?kind=points_expiry&who={card}").text
    assert f"按会员 {card} 的数据渲染" in mine and card in mine.split('id="preview-body"')[1]
    assert "未启用" not in mine.split("points_expiry")[1].split("</tr>")[0]
    res = b.post("/admin/campaigns/dry-run", {"kind": "points_expiry",
                                              "openids": "oAmy, oTester01\noAmy"})
    assert res.status_code == 302
    page = b.get("/admin/campaigns?kind=points_expiry").text
    assert "试发 2 条" in page, page.split("<main>")[1][:400]
    assert sorted(m["request"]["touser"] for m in sandbox.sent("template")) == ["oAmy", "oTester01"]
    with app.session() as s, s.read():
        assert {d.openid for d in s.query(Delivery)} == {"oAmy", "oTester01"}
        assert all(d.dry_run for d in s.query(Delivery))
        entry = s.query(AuditLog).filter_by(action="campaign.dry_run").one()
        assert entry.actor == "otto" and entry.after["openids"] == ["oAmy", "oTester01"]


def test_dry_run_refuses_bad_input_and_viewers(app, sandbox):
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns")
    b.post("/admin/campaigns/dry-run", {"kind": "points_expiry", "openids": "bad openid!"})
    assert "测试 openid" in b.get("/admin/campaigns").text
    b.post("/admin/campaigns/dry-run", {"kind": "birthday_nope", "openids": "oTester01"})
    assert "请选择推送类型" in b.get("/admin/campaigns").text
    viewer = logged_in(app, "vic", "viewer")
    res = viewer.post("/admin/campaigns/dry-run", {"kind": "points_expiry", "openids": "oTester01"})
    assert res.status_code == 403
    assert sandbox.sent("template") == []


# ---- campaigns by segment over HTTP -------------------------------------------------------

def _local_in(app, days: int) -> str:
    """A datetime-local form value `days` ahead, in the programme's zone."""
    moment = datetime.now(app.config.tz) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M")


def _campaign_form(app, **kw):
    form = {"name": "会员日", "seg_tag": "VIP", "kind": "campaign", "message": "周六会员日8折。",
            "coupon_template_id": "2", "scheduled_at": _local_in(app, 2), "action": "create"}
    return {**form, **kw}


@pytest.fixture
def vip(app):
    app.simulator().subscribe("oVip")
    with app.session() as s:
        member_admin.add_tag(s, member(app, "oVip").id, "VIP", "test")
    return member(app, "oVip")


def test_operator_previews_schedules_watches_and_cancels_a_campaign(app, vip, sandbox):
    b = logged_in(app, "otto", "operator")
    page = b.get("/admin/campaigns/new").text
    assert 'name="seg_rfm"' in page and "重要价值" in page and "VIP（1）" in page
    kinds = page.split('name="kind"')[1].split("</select>")[0]
    assert ">会员活动（公众号订阅通知）<" in kinds and "birthday" not in kinds
    assert "campaign，" not in kinds and "（holiday" not in kinds  # no internal kind codes
    res = b.post("/admin/campaigns/new", _campaign_form(app, action="preview"))
    assert res.status_code == 200
    assert f"分群：标签「VIP」，当前 1 人。按会员 {vip.card_no} 的数据渲染。" in res.text
    # Rendered as the member reads it: a line break, not a literal \n nor the JSON body.
    preview = res.text.split('id="preview-body"')[1]
    assert "周六会员日8折。\n送您一张优惠券：满50减10" in preview
    assert "\\n" not in preview and '"text"' not in preview
    with app.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0  # preview writes nothing
    b.get("/admin/campaigns/new")
    res = b.post("/admin/campaigns/new", _campaign_form(app))
    assert res.status_code == 302
    detail = res.headers["Location"]
    page = b.get(detail).text
    assert "已创建" in page and "待发送" in page and "标签「VIP」" in page
    listing = b.get("/admin/campaigns").text.split('id="campaigns"')[1].split("</table>")[0]
    assert "会员日" in listing and "待发送" in listing
    with app.session() as s, s.read():
        c = s.scalars(select(Campaign)).one()
        assert (c.kind, c.segment, c.coupon_template_id, c.created_by) == (
            "campaign", {"tag": "VIP"}, 2, "otto")
        assert s.scalars(select(AuditLog.actor).where(AuditLog.action == "campaign.create")
                         ).all() == ["otto"]
    b.post(f"/admin/campaigns/{c.id}/cancel")
    assert "活动已取消" in b.get(detail).text and "已取消" in b.get(detail).text
    with app.session() as s:  # its time comes: nothing is planned
        assert campaign_runs.plan_due(s, app.rt.pushes, app.config,
                                  now=c.scheduled_at + timedelta(minutes=1)) == {}


def test_progress_and_a_campaign_dry_run_over_http(app, vip, sandbox):
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    sandbox.interact("oVip")
    sandbox.interact("oTester01")  # a tester who wrote to the account (48-hour window)
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns/new")
    detail = b.post("/admin/campaigns/new", _campaign_form(app, scheduled_at="")).headers["Location"]
    b.get(detail)
    res = b.post(detail + "/dry-run", {"kind": "campaign", "openids": "oTester01"})
    assert res.status_code == 302 and "试发 1 条" in b.get(detail).text
    [trial] = sandbox.sent("custom")
    assert trial["request"]["touser"] == "oTester01"
    assert "周六会员日8折。" in trial["request"]["text"]["content"]
    sandbox.clear()
    scheduler.build_scheduler(app.rt)
    scheduler.campaigns_job()  # due now: planned and sent
    page = b.get(detail).text
    assert '<div class="v" id="planned">1</div>' in page and '<div class="v" id="sent">1</div>' in page
    assert '<strong id="coupons">1</strong>' in page and "已排队发送" in page
    assert [m["request"]["touser"] for m in sandbox.sent("custom")] == ["oVip"]


def test_campaign_forms_need_csrf_a_role_and_good_input(app, vip):
    viewer = logged_in(app, "vic", "viewer")
    assert viewer.get("/admin/campaigns/new").status_code == 200
    assert "新建分群活动" not in viewer.get("/admin/campaigns").text
    assert viewer.post("/admin/campaigns/new", _campaign_form(app)).status_code == 403
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns/new")
    assert b.post("/admin/campaigns/new", _campaign_form(app), csrf=False).status_code == 400
    for bad, message in [({"seg_dormant_days": "abc"}, "沉睡天数须为"),
                         ({"kind": "birthday"}, "请选择可用的营销推送类型。"),
                         ({"message": ""}, "请填写活动文案"),
                         ({"scheduled_at": "明天"}, "发送时间格式无效。"),
                         ({"scheduled_at": _local_in(app, -2)}, "发送时间须在现在到一年之内。")]:
        b.get("/admin/campaigns/new")
        res = b.post("/admin/campaigns/new", _campaign_form(app, **bad))
        assert res.status_code == 400 and message in res.text, bad
    with app.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0
    with app.session() as s:
        c = campaigns.create(s, app.rt.pushes, campaigns.CampaignSpec(
            "x", {}, "campaign", "文案", scheduled_local=None), app.config, "otto")
    assert viewer.post(f"/admin/campaigns/{c.id}/cancel").status_code == 403
    assert "待发送" in viewer.get(f"/admin/campaigns/{c.id}").text
    assert b.get("/admin/campaigns/999").status_code == 404


def test_a_scheduled_campaign_shows_its_forecast_and_the_dashboard_its_reach(app, vip, sandbox):
    """Reach (issue 15): before it runs, a campaign's page says whom each channel reaches;
    after, its progress and the dashboard say it per channel."""
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    sandbox.interact("oVip")
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns/new")
    detail = b.post("/admin/campaigns/new",
                    _campaign_form(app, scheduled_at="")).headers["Location"]  # now
    page = b.get(detail).text
    forecast = page.split('id="forecast"')[1].split("</div>\n</div>")[0]
    assert "触达预估" in page and "客服消息（48 小时内）" in forecast
    with app.session() as s, s.read():
        c = s.scalars(select(Campaign)).one()
    with app.session() as s:
        campaign_runs.plan_due(s, app.rt.pushes, app.config, now=max(c.scheduled_at, utcnow()))
    with app.session() as s:
        deliveries.send_due(s, app.rt.gateway, app.config.tz)
    page = b.get(detail).text
    assert 'id="by-channel"' in page and "客服消息（48 小时内） 1" in page
    reach = b.get("/admin/").text.split('id="reach"')[1].split("</table>")[0]
    assert "会员活动" in reach and ">campaign<" not in reach and "客服消息（48 小时内）" in reach


def test_a_kinds_forecast_on_request(app, sandbox):
    """Reach (issue 15): a push kind's page forecasts, on request, whom each channel reaches
    today and why the rest cannot be reached."""
    from wx_member.clock import local_now
    from wx_member.models import Member

    for openid in ("oA", "oB", "oGone"):
        app.simulator().subscribe(openid)
    app.simulator().unsubscribe("oGone")
    # born today (in 1992, a leap year: today may be 29 February): today's birthday greetings
    today = local_now(app.config.tz).replace(year=1992, hour=12, tzinfo=None)
    with app.session() as s, s.begin():
        s.execute(Member.__table__.update().values(birthday=today))
    b = logged_in(app, "otto", "operator")
    page = b.get("/admin/campaigns?kind=birthday").text
    assert "触达预估" in page and 'id="forecast"' not in page  # a link, not computed
    page = b.get("/admin/campaigns?kind=birthday&forecast=1").text
    forecast = page.split('id="forecast"')[1].split("</table>")[0]
    assert '目标人数</div><div class="v">3' in forecast
    assert '模板消息</div><div class="v">2' in forecast
    assert "模板消息：未关注公众号" in forecast
    with app.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0  # nothing planned


def test_reach_over_time_on_the_dashboard_and_a_campaigns_page(app, vip, sandbox):
    """Reach (issue 15): the dashboard charts, per local day, the pushes planned then and
    what became of them (targeted / sent / delivered / failed, reach rate), for all kinds or
    one; a campaign's page the same for its own deliveries."""
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    sandbox.interact("oVip")
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns/new")
    detail = b.post("/admin/campaigns/new",
                    _campaign_form(app, scheduled_at="")).headers["Location"]
    with app.session() as s, s.read():
        c = s.scalars(select(Campaign)).one()
    with app.session() as s:
        campaign_runs.plan_due(s, app.rt.pushes, app.config, now=max(c.scheduled_at, utcnow()))
    with app.session() as s:
        deliveries.send_due(s, app.rt.gateway, app.config.tz)
    three_days_ago = utcnow() - timedelta(days=3)
    with app.session() as s, s.begin():  # holiday greetings planned three days ago
        s.add_all([Delivery(member_id=vip.id, openid="oVip", kind="holiday", occasion="x:1",
                            channel="mass", payload={}, status="delivered",
                            created_at=three_days_ago),
                   Delivery(member_id=vip.id, openid="oVip2", kind="holiday", occasion="x:1",
                            channel="mass", payload={}, status="failed",
                            created_at=three_days_ago),
                   Delivery(member_id=vip.id, openid="oVip3", kind="holiday", occasion="dry",
                            channel="custom", payload={}, status="sent", dry_run=True,
                            created_at=three_days_ago)])  # a dry run: not counted
    today = datetime.now(app.config.tz).date()
    earlier = today - timedelta(days=3)

    def rows(html: str) -> list[list[str]]:
        table = html.split('id="reach-time"')[1].split("</table>")[0]
        return [re.findall(r">([^<>]*)</td>", tr) for tr in table.split("<tr>")[2:]]

    page = b.get("/admin/?days=7").text
    chart = page.split('id="reach-time"')[1].split("</svg>")[0]
    assert 'aria-label="触达趋势"' in chart and all(
        w in chart for w in ("计划", "已发出", "已送达", "失败/跳过"))
    assert chart.count("<circle") == 4 * 7  # four series, a point per day of the period
    assert f"{earlier:%m-%d} 计划: 2" in chart and f"{today:%m-%d} 已发出: 1" in chart
    assert rows(page) == [[f"{earlier:%Y-%m-%d}", "2", "1", "1", "1", "50.0%"],
                          [f"{today:%Y-%m-%d}", "1", "1", "0", "0", "100.0%"]]
    only = b.get("/admin/?days=7&reach_kind=campaign").text
    assert "触达趋势：会员活动" in only
    assert rows(only) == [[f"{today:%Y-%m-%d}", "1", "1", "0", "0", "100.0%"]]
    assert rows(b.get("/admin/?days=7&reach_kind=nope").text)[0][1] == "2"  # unknown: all
    weekly = b.get("/admin/?days=90").text  # a long period: per week
    assert "所在周" in weekly and sum(int(r[1]) for r in rows(weekly)) == 3
    # a weekly period whose first day is a Sunday: its first bucket is that one day
    sunday_first = next(n for n in range(32, 39) if (today - timedelta(days=n - 1)).weekday() == 6)
    weekly = b.get(f"/admin/?days={sunday_first}").text
    assert "所在周" in weekly and sum(int(r[1]) for r in rows(weekly)) == 3
    page = b.get(detail).text
    assert 'aria-label="活动触达趋势"' in page
    assert rows(page) == [[f"{today:%Y-%m-%d}", "1", "1", "0", "0", "100.0%"]]


def test_a_campaign_whose_coupon_sells_out_says_so(app, sandbox):
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    for openid in ("oVip1", "oVip2"):
        app.simulator().subscribe(openid)
        sandbox.interact(openid)
        with app.session() as s:
            member_admin.add_tag(s, member(app, openid).id, "VIP", "test")
    b = logged_in(app, "otto", "operator")
    b.get("/admin/coupons")
    b.post("/admin/coupons/2/limit", {"stock_limit": "1"})  # 满50减10: one left for two
    b.get("/admin/campaigns/new")
    detail = b.post("/admin/campaigns/new", _campaign_form(app, scheduled_at="")).headers["Location"]
    scheduler.build_scheduler(app.rt)
    scheduler.campaigns_job()
    page = b.get(detail).text
    assert '<strong id="coupons">1</strong>' in page
    assert "该券已发完（限量 1 张），之后的会员未获券" in page
    offers = ["满50减10" in m["request"]["text"]["content"] for m in sandbox.sent("custom")]
    assert sorted(offers) == [False, True]  # the message names the coupon only to its holder
