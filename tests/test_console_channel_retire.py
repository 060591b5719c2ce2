"""Retiring a channel code in the console (issue 18): asked first, audited; the printed
code keeps making members, counted to the channel; the code leaves the default list (a
filter shows it, marked 已停用) and can no longer be renamed, renewed or moved to a store."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401
from helpers import member

from wx_member.insights import channel_view


def _row(html: str, scene: str) -> str:
    return html.split(f'id="channel-{scene}"')[1].split("</tr>")[0]


def test_a_retired_code_still_makes_members_counted_to_it(console, sandbox):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/channels")
    assert b.post("/admin/channels", {"scene": "poster_x", "name": "秋季海报", "kind": "poster",
                                      "days": "30"}).status_code == 302
    sim = console.simulator()
    sim.subscribe("oBefore", scene="poster_x")
    detail = b.get("/admin/channels/poster_x").text
    assert 'id="channel-retire"' in detail and "确认停用渠道码「秋季海报」" in detail

    res = b.post("/admin/channels/poster_x/retire")
    assert res.status_code == 302
    page = b.get(res.headers["location"]).text
    assert "渠道码「秋季海报」已停用" in page and 'id="retired"' in page
    assert 'id="channel-edit"' not in page and 'id="channel-renew"' not in page

    # WeChat keeps the printed code valid: a newcomer scanning it becomes a member, and the
    # scan and the join are the channel's.
    sim.subscribe("oAfter", scene="poster_x")
    assert member(console, "oAfter").scene == "poster_x"
    with console.session() as s:
        [row] = channel_view.channel_report(s, retired=True)
    assert (row.scene, row.scans, row.joins) == ("poster_x", 2, 2)

    listed = b.get("/admin/channels").text
    assert 'id="channel-poster_x"' not in listed
    retired = b.get("/admin/channels?status=retired").text
    assert "已停用" in _row(retired, "poster_x") and "秋季海报" in _row(retired, "poster_x")
    assert "已停用" in _row(b.get("/admin/channels?status=all").text, "poster_x")

    # No more edits: each refusal says why, in Chinese, and nothing changes.
    b.post("/admin/channels/poster_x", {"name": "改名", "kind": "store"})
    assert "渠道码已停用" in b.get("/admin/channels/poster_x").text
    b.post("/admin/channels/poster_x", {"action": "renew", "days": "7"})
    assert "渠道码已停用" in b.get("/admin/channels/poster_x").text
    assert len(sandbox.sent("qrcode")) == 1  # the creation only: no renewal asked of WeChat
    with console.session() as s:
        [row] = channel_view.channel_report(s, retired=True)
    assert row.name == "秋季海报" and row.kind == "poster"

    # Retiring twice changes nothing; the audit log reads in Chinese, once.
    b.post("/admin/channels/poster_x/retire")
    audit = b.get("/admin/audit?action=channel.retire").text.split("<tbody>")[1]
    assert audit.count("停用渠道码") == 1 and "状态：使用中 → 已停用" in audit
    assert "名称：秋季海报" in audit and "otto" in audit


def test_viewers_cannot_retire_and_unknown_codes_are_refused(console, sandbox):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/channels")
    b.post("/admin/channels", {"scene": "s1", "name": "一号店", "kind": "store", "days": "7"})
    v = logged_in(console, "vic", "viewer")
    assert v.post("/admin/channels/s1/retire").status_code == 403
    assert 'id="channel-s1"' in b.get("/admin/channels").text  # still in use
    assert b.post("/admin/channels/nope/retire").status_code == 404


def test_a_retired_code_is_brought_back_listed_and_editable_again(console, sandbox):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/channels")
    b.post("/admin/channels", {"scene": "poster_y", "name": "冬季海报", "kind": "poster",
                               "days": "30"})
    assert 'id="channel-restore"' not in b.get("/admin/channels/poster_y").text
    b.post("/admin/channels/poster_y/retire")
    page = b.get("/admin/channels/poster_y").text
    assert 'id="channel-restore"' in page and "确认恢复使用渠道码「冬季海报」" in page
    assert 'id="channel-poster_y"' not in b.get("/admin/channels").text

    v = logged_in(console, "vic", "viewer")
    assert v.post("/admin/channels/poster_y/restore").status_code == 403
    assert b.post("/admin/channels/nope/restore").status_code == 404

    res = b.post("/admin/channels/poster_y/restore")
    page = b.get(res.headers["location"]).text
    assert "渠道码「冬季海报」已恢复使用" in page and 'id="retired"' not in page
    assert 'id="channel-edit"' in page and 'id="channel-renew"' in page
    listed = b.get("/admin/channels").text
    assert "已停用" not in _row(listed, "poster_y") and "冬季海报" in _row(listed, "poster_y")

    # Editable and renewable again, through WeChat.
    b.post("/admin/channels/poster_y", {"name": "冬季海报二期", "kind": "poster"})
    assert "渠道码已修改" in b.get("/admin/channels/poster_y").text
    b.post("/admin/channels/poster_y", {"action": "renew", "days": "7"})
    assert len(sandbox.sent("qrcode")) == 2  # the creation and the renewal

    # Restoring a code in use changes nothing; the audit log reads it once, in Chinese.
    b.post("/admin/channels/poster_y/restore")
    audit = b.get("/admin/audit?action=channel.restore").text.split("<tbody>")[1]
    assert audit.count("恢复渠道码") == 1 and "状态：已停用 → 使用中" in audit
