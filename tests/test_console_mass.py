"""群发 in the console over HTTP, against the sandbox: an operator syncs the programme's tags
to WeChat and sees them with their members, sends a text to a tag (the sandbox gets one
sendall with the tag id and the text) and reads it in the history with WeChat's report; the
same name sends once; an unsynced tag, an empty or too long text are refused in Chinese with
nothing sent; both actions in the audit log; a store account cannot reach the page (403, no
link), a viewer reads it without forms."""
from __future__ import annotations

import html
import re

import pytest

from console_helpers import console, logged_in  # noqa: F401
from helpers import member
from test_console_stores import store_account
from wx_member.console import member_admin
from wx_member.members import stores
from wx_member.platform import settings


def followers_tagged(live, tag: str, openids: list[str]) -> None:
    """Followers who joined through the webhook, each given `tag` by an operator."""
    sim = live.simulator()
    for openid in openids:
        sim.subscribe(openid)
        with live.session() as uow:
            member_admin.add_tag(uow, member(live, openid).id, tag, "test")


def table(page: str, table_id: str) -> list[str]:
    """The rows of one table, as text without markup."""
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [html.unescape(re.sub(r"<[^>]+>", " ", r)) for r in body.split("</tr>")[:-1]]


def flash(page: str) -> str:
    return html.unescape(" ".join(re.findall(r'<p class="flash [a-z]+" role="status">(.*?)</p>',
                                             page)))


def send(b, tag: str, text: str, occasion: str, **more):
    return b.post("/admin/mass/send", {"tag": tag, "content": "text", "text": text,
                                       "occasion": occasion, **more})


@pytest.fixture
def vip(console):
    followers_tagged(console, "VIP", ["oVip1", "oVip2", "oVip3"])
    console.simulator().subscribe("oPlain")  # a follower without the tag
    return console


def test_an_operator_syncs_the_tags_and_sees_them_with_their_members(vip, sandbox):
    b = logged_in(vip, "ops", "operator")
    page = b.get("/admin/mass").text
    assert "还没有同步过标签" in page and "请先同步标签到微信" in page
    assert b.post("/admin/mass/sync").status_code == 302
    page = b.get("/admin/mass").text
    said = flash(page)
    assert "已同步到微信：新建标签 10 个" in said and "打标签 7 人次" in said, said
    rows = {r.split()[0]: r.split()[1:] for r in table(page, "wechat-tags")}
    tags_at_wechat = {t["name"]: t for t in sandbox.reach.tags()["tags"]}
    assert rows["VIP"][:2] == [str(tags_at_wechat["VIP"]["id"]), "3"]
    assert rows["RFM·未消费"][1] == "4"  # no one has ordered: all four followers
    assert tags_at_wechat["VIP"]["count"] == 3
    assert "VIP（3 人）" in page  # the send form's choice says how many
    assert 'data-confirm="确认向标签「VIP」的 3 位会员群发？' in page
    b.post("/admin/mass/sync")
    assert "新建标签 0 个，打标签 0 人次，取消标签 0 人次" in flash(b.get("/admin/mass").text)


def test_a_text_to_a_tag_reaches_wechat_once_and_is_in_the_history(vip, sandbox):
    sandbox.reach.report_to(vip.webhook, vip.config.token, vip.config.appid)
    b = logged_in(vip, "ops", "operator")
    b.post("/admin/mass/sync")
    page = b.get("/admin/mass").text
    assert 'value="群发-' in page  # the name is filled in for the first tag
    send(b, "VIP", "周六会员日，全场 8 折", "会员日-12月")
    said = flash(b.get("/admin/mass").text)
    [sent] = sandbox.sent("mass")
    vip_id = {t["name"]: t["id"] for t in sandbox.reach.tags()["tags"]}["VIP"]
    assert sent["request"]["filter"] == {"is_to_all": False, "tag_id": vip_id}
    assert sent["request"]["text"] == {"content": "周六会员日，全场 8 折"}
    assert sorted(sent["request"]["touser"]) == ["oVip1", "oVip2", "oVip3"]
    assert f"已向标签「VIP」群发「会员日-12月」：已提交微信，msg_id {sent['msgid']}" in said

    send(b, "VIP", "周六会员日，全场 8 折", "会员日-12月")  # again: a double click
    said = flash(b.get("/admin/mass").text)
    assert "群发名称「会员日-12月」已经发送过" in said and "本次没有再发送" in said
    assert len(sandbox.sent("mass")) == 1

    assert sandbox.reach.flush_reports() == 1  # WeChat's MASSSENDJOBFINISH
    [row] = table(b.get("/admin/mass").text, "mass-history")
    assert "按标签群发：会员日-12月" in row and "标签「VIP」" in row and "文字" in row
    assert "微信已发完" in row and str(sent["msgid"]) in row
    assert "共 3，过滤 0，成功 3，失败 0" in row


def test_refusals_say_why_in_chinese_and_send_nothing(vip, sandbox):
    b = logged_in(vip, "ops", "operator")
    send(b, "VIP", "你好", "早了")  # not synced yet
    assert "未发送：标签「VIP」还没有同步到微信，请先同步标签。" in flash(b.get("/admin/mass").text)
    b.post("/admin/mass/sync")
    b.get("/admin/mass")
    send(b, "VIP", "   ", "空的")
    assert "未发送：请填写群发的文字内容。" in flash(b.get("/admin/mass").text)
    send(b, "VIP", "长" * 601, "太长")
    assert "未发送：文字最多 600 个字，现在 601 个字。" in flash(b.get("/admin/mass").text)
    send(b, "从未有过", "你好", "没有的标签")
    assert "未发送：标签「从未有过」还没有同步到微信" in flash(b.get("/admin/mass").text)
    send(b, "VIP", "你好", "  ")
    assert "未发送：请填写群发名称。" in flash(b.get("/admin/mass").text)
    b.post("/admin/mass/send", {"tag": "VIP", "content": "image", "media_id": "坏的 id",
                                "occasion": "坏图"})
    assert "未发送：请填写图片的 media_id" in flash(b.get("/admin/mass").text)
    assert sandbox.sent("mass") == []
    assert "还没有群发" in b.get("/admin/mass").text


def test_an_image_wechat_refuses_is_failed_and_can_be_corrected_under_the_same_name(vip, sandbox):
    b = logged_in(vip, "ops", "operator")
    b.post("/admin/mass/sync")
    b.get("/admin/mass")
    sandbox.inject("cgi-bin/message/mass/sendall", errcode=40007)
    b.post("/admin/mass/send", {"tag": "VIP", "content": "image", "media_id": "NO_SUCH",
                                "occasion": "海报"})
    page = b.get("/admin/mass").text
    assert "微信拒绝了这次群发（media_id 无效（素材不存在，请先在素材库上传））" in flash(page)
    [row] = table(page, "mass-history")
    assert "失败（未发送）" in row and "图片" in row
    b.post("/admin/mass/send", {"tag": "VIP", "content": "image", "media_id": "MEDIA_POSTER",
                                "occasion": "海报"})
    assert "已向标签「VIP」群发「海报」：已提交微信" in flash(b.get("/admin/mass").text)
    [sent] = sandbox.sent("mass")
    assert sent["request"]["image"] == {"media_id": "MEDIA_POSTER"}


def test_both_actions_are_in_the_audit_log_in_chinese(vip, sandbox):
    b = logged_in(vip, "ops", "operator")
    b.post("/admin/mass/sync")
    b.get("/admin/mass")
    send(b, "VIP", "会员日快乐", "会员日-审计")
    [sent] = sandbox.sent("mass")
    page = b.get("/admin/audit").text
    sync_row = next(r for r in table(page, "audit") if "同步标签到微信" in r)
    assert "ops" in sync_row and "微信用户标签" in sync_row
    assert "新建微信标签：10 个" in sync_row and "打标签：7 人次" in sync_row
    mass_row = next(r for r in table(page, "audit") if "按标签群发" in r)
    assert "标签「VIP」" in mass_row and "场合：会员日-审计" in mass_row
    assert "内容：会员日快乐" in mass_row and f"微信 msg_id：{sent['msgid']}" in mass_row


def test_the_monthly_limit_is_read_from_the_rules(vip):
    with vip.session() as uow:
        settings.change(uow, "mass_sends_per_month", 3, "test")
    b = logged_in(vip, "ops", "operator")
    assert "每位粉丝每月最多收到 3 条群发消息" in b.get("/admin/mass").text
    with vip.session() as uow:
        settings.change(uow, "mass_sends_per_month", 0, "test")
    assert "为 0：推送不使用群发" in b.get("/admin/mass").text


def test_store_accounts_cannot_reach_it_and_viewers_only_read(vip, sandbox):
    with vip.session() as uow:
        stores.create(uow, "SH001", "人民广场店", by="test")
    for role in ("manager", "clerk"):
        shop = store_account(vip, f"sh_{role}", role, "SH001")
        assert ">群发<" not in shop.get("/admin/").text
        assert shop.get("/admin/mass").status_code == 403
        assert shop.post("/admin/mass/sync").status_code == 403
        assert send(shop, "VIP", "你好", "门店").status_code == 403
    ops = logged_in(vip, "ops", "operator")
    assert ">群发<" in ops.get("/admin/").text
    ops.post("/admin/mass/sync")
    viewer = logged_in(vip, "reader", "viewer")
    page = viewer.get("/admin/mass").text
    assert "VIP" in page and "群发记录" in page  # reads the tags and the history
    assert 'id="mass-sync"' not in page and 'id="mass-send"' not in page
    assert viewer.post("/admin/mass/sync").status_code == 403
    assert send(viewer, "VIP", "你好", "只读").status_code == 403
    assert sandbox.sent("mass") == []


def test_a_sync_stopped_by_wechat_says_so_and_goes_on_when_run_again(vip, sandbox):
    b = logged_in(vip, "ops", "operator")
    sandbox.quota("cgi-bin/tags/members/batchtagging", 1)  # WeChat's daily quota: 45009
    b.post("/admin/mass/sync")
    said = flash(b.get("/admin/mass").text)
    assert "接口调用超过每日上限" in said and "再次点击「同步标签到微信」会从中断处继续" in said
    stopped = next(r for r in table(b.get("/admin/audit").text, "audit") if "同步标签到微信" in r)
    assert "提前停止：接口调用超过每日上限；再次同步会从中断处继续" in stopped
    sandbox.clear()  # the next day
    b.post("/admin/mass/sync")
    assert "新建标签 0 个" in flash(b.get("/admin/mass").text)
    assert {t["name"]: t["count"] for t in sandbox.reach.tags()["tags"]}["VIP"] == 3


def test_one_sync_at_a_time(vip, sandbox):
    from wx_member.platform import leases
    from wx_member.pushes import wechat_tags

    with vip.session() as uow:  # another operator's sync, still running
        assert leases.acquire(uow, wechat_tags.LEASE, "elsewhere", wechat_tags.LEASE_TTL)
    b = logged_in(vip, "ops", "operator")
    b.post("/admin/mass/sync")
    assert "标签正在同步中" in flash(b.get("/admin/mass").text)
    assert sandbox.sent("tags") == []
    with vip.session() as uow:
        leases.release(uow, wechat_tags.LEASE, "elsewhere")
    b.post("/admin/mass/sync")
    assert "已同步到微信" in flash(b.get("/admin/mass").text)


def test_the_history_shows_a_push_kinds_mass_send_by_its_followers(vip):
    from wx_member.clock import utcnow
    from wx_member.models import MassJob

    with vip.session() as s, s.begin():  # the win-back push went out by openid list
        s.add(MassJob(clientmsgid="c-winback", kind="winback", occasion="2026-01-10+180d",
                      recipients=2, payload={"msgtype": "text", "text": {"content": "好久不见"}},
                      status="failed", attempts=1, error="WeChat error 45028: no quota",
                      created_at=utcnow()))
    [row] = table(logged_in(vip, "ops", "operator").get("/admin/mass").text, "mass-history")
    assert "好久不见：2026-01-10+180d" in row and "2 位粉丝" in row
    assert "失败（未发送）（群发配额已用完）" in row and ">winback<" not in row


def test_a_send_left_unanswered_for_24_hours_is_never_called_again(vip, sandbox):
    """WeChat keeps a clientmsgid 24 hours: a send that got no answer and is retried after
    that could go out twice, so it ends 结果不明 and the same name sends nothing."""
    from datetime import timedelta

    from wx_member.clock import utcnow
    from wx_member.models import MassJob
    from wx_member.pushes import mass_sends

    b = logged_in(vip, "ops", "operator")
    b.post("/admin/mass/sync")
    b.get("/admin/mass")
    sandbox.inject("cgi-bin/message/mass/sendall", http_status=502)  # no answer WeChat gave
    send(b, "VIP", "周末见", "周末")
    assert "未确认是否已发送" in flash(b.get("/admin/mass").text)
    with vip.session() as uow, uow.write() as s:  # a day and more goes by
        job = s.query(MassJob).filter_by(occasion="周末").one()
        assert job.status == "sending"
        job.created_at = utcnow() - mass_sends.KEEPS_CLIENTMSGID - timedelta(minutes=1)
    send(b, "VIP", "周末见", "周末")
    page = b.get("/admin/mass").text
    assert "24 小时内没有得到微信的答复，可能已经发出；为免重复，不再发送" in flash(page)
    assert sandbox.sent("mass") == []
    [row] = table(page, "mass-history")
    assert "结果不明（可能已发出）" in row
    send(b, "VIP", "周末见", "周末")  # and so it stays
    assert "为免重复，不再发送" in flash(b.get("/admin/mass").text)
    assert sandbox.sent("mass") == []


def test_a_sync_stops_before_the_workers_timeout_and_the_next_click_goes_on(vip, sandbox,
                                                                            monkeypatch):
    b = logged_in(vip, "ops", "operator")
    monkeypatch.setenv("WX_GUNICORN_TIMEOUT", "2")  # no time left after the first calls
    b.post("/admin/mass/sync")
    said = flash(b.get("/admin/mass").text)
    assert "为免请求超时，本次先同步到这里：再次点击「同步标签到微信」继续。" in said, said
    assert "打标签 0 人次" in said
    monkeypatch.delenv("WX_GUNICORN_TIMEOUT")
    b.post("/admin/mass/sync")
    said = flash(b.get("/admin/mass").text)
    assert "打标签 7 人次" in said and "继续" not in said, said
