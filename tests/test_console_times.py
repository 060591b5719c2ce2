"""The console in local time, the zone said once, and Chinese error pages under /admin."""
from __future__ import annotations

from datetime import datetime

from console_helpers import Browser, console, logged_in  # noqa: F401
from helpers import member

from wx_member.models import Member


def test_member_pages_show_local_time_with_the_zone_said_once(console):
    console.simulator().subscribe("oTime")
    m = member(console, "oTime")
    with console.session() as s, s.begin():
        s.get(Member, m.id).joined_at = datetime(2026, 3, 1, 17, 30)  # UTC: 01:30 next day local
    b = logged_in(console, "tina", "operator")
    for path in ("/admin/members", f"/admin/members/{m.id}"):
        page = b.get(path).text
        assert "2026-03-02 01:30" in page and "2026-03-01 17:30" not in page, path
        assert "UTC" not in page.split("<main>")[1], path
        assert page.count("Asia/Shanghai") == 1, path


def test_unknown_console_urls_answer_a_chinese_page(console):
    anonymous = Browser(console)
    res = anonymous.get("/admin/no-such-page")
    assert res.status_code == 404 and "页面不存在" in res.text and "Not Found" not in res.text
    b = logged_in(console, "tom", "operator")
    res = b.get("/admin/members/99999/nothing")
    assert res.status_code == 404 and "页面不存在" in res.text
    res = b.post("/admin/members")  # a page that takes no POST
    assert res.status_code == 405 and "请求方式不支持" in res.text
    # Other surfaces keep their own answers.
    assert b.http.get(console.url + "api/nope").json()["code"] == "NOT_FOUND"
