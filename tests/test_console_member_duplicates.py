"""The member page lists the members who look like the same person (可能重复的会员), with
why each is listed, and merges one with a click: the form as the page renders it (its CSRF
token, the candidate's card number) posted to the merge route. Afterwards the candidate's
points are the survivor's and the candidate is no longer listed. A read-only account sees
the list without the buttons."""
from __future__ import annotations

import re

from sqlalchemy import select, update

from console_helpers import console, logged_in  # noqa: F401  (fixture)
from helpers import member
from wx_member.members import member_import
from wx_member.models import Member

PHONE = "13800002222"
DUPLICATES = re.compile(r'<table id="duplicates">.*?</table>', re.S)
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _follower_and_paper_member(app) -> tuple[Member, Member]:
    """The same person twice: on a shop's paper list (imported by phone alone, with 120
    opening points), then following the Official Account, their phone on file as the
    member list or an operator records it."""
    with app.session() as uow:
        report = member_import.import_file(uow, f"手机号,姓名,积分\n{PHONE},王小明,120\n".encode(),
                                           by="test")
    assert report.created == 1
    with app.session() as s, s.read():
        paper = s.scalar(select(Member).where(Member.phone == PHONE))
    app.simulator().subscribe("oKeep")
    keep = member(app, "oKeep")
    with app.session() as s, s.begin():
        s.execute(update(Member).where(Member.id == keep.id).values(phone=PHONE))
    return member(app, "oKeep"), paper


def _merge_forms(page: str) -> list[tuple[str, dict[str, str]]]:
    table = DUPLICATES.search(page)
    assert table, "no 可能重复的会员 table"
    return [(action, dict(HIDDEN.findall(body))) for action, body in FORM.findall(table.group())]


def test_a_likely_duplicate_is_listed_and_merged_with_one_click(console):
    keep, paper = _follower_and_paper_member(console)
    b = logged_in(console, "ops", "operator")
    page = b.get(f"/admin/members/{keep.id}").text
    row = DUPLICATES.search(page).group()
    assert "可能重复的会员" in page and "没有找到可能重复的会员" not in page
    assert paper.card_no in row and "王小明" in row and PHONE in row and "同手机号" in row
    assert "120" in row and "0.00" in row
    [(action, fields)] = _merge_forms(page)
    assert action == f"/admin/members/{keep.id}/merge" and fields["other"] == paper.card_no

    res = b.http.post(b.base + action, data=fields, allow_redirects=False)  # the button
    assert res.status_code == 302
    page = b.get(f"/admin/members/{keep.id}").text
    assert "已合并：积分 120" in page
    assert re.search(r'id="points">(\d+)<', page).group(1) == str(keep.points_balance + 120)
    assert "没有找到可能重复的会员" in page and '<table id="duplicates">' not in page
    with console.session() as s, s.read():
        gone = s.get(Member, paper.id)
        assert (gone.card_no, gone.points_balance) == (None, 0)
        assert s.get(Member, keep.id).points_balance == keep.points_balance + 120


def test_a_read_only_account_sees_the_list_without_merge_buttons(console):
    keep, paper = _follower_and_paper_member(console)
    b = logged_in(console, "look", "viewer")
    page = b.get(f"/admin/members/{keep.id}").text
    assert paper.card_no in DUPLICATES.search(page).group()
    assert _merge_forms(page) == []
