"""A shop brings its paper or till members by phone alone (issue 18): the console's CSV
import creates a member per phone with a card number and the file's points and stored value
as ledger rows; a phone twice in the file, or already a member's, is refused for that row.
When the person later verifies the same phone in the mini-program, whether they came
through the mini-program or the Official Account, the imported member becomes theirs:
one member for one phone. Over HTTP: the console, the mini-program API, the webhook."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401  (fixture)
from conftest import serve
from console_helpers import logged_in
from wx_member.members import membership
from wx_member.models import Member, PointsLedger, StoredValueLedger

PAPER = ("手机号,姓名,积分,储值（元）,标签\n"
         "13700001111,王芳,320,58.50,纸卡\n"
         "13700002222,,,,\n")


@pytest.fixture
def live(db_url, mini_sandbox):
    yield from serve(api_config(db_url, mini_sandbox, cookie_secure=False))


def _upload(browser, text: str, **form):
    browser.get("/admin/members/import")
    return browser.post("/admin/members/import", form or None,
                        files={"file": ("paper.csv", text.encode("utf-8-sig"))})


def _with_phone(live, phone: str) -> list[Member]:
    with live.session() as s, s.read():
        return list(s.scalars(select(Member).where(Member.phone == phone)))


def test_a_paper_member_is_imported_by_phone_with_opening_balances(live):
    ops = logged_in(live, "otto", "operator")
    res = _upload(ops, PAPER)
    assert res.status_code == 200, res.text
    assert "新建会员 2" in res.text and "原有积分 320" in res.text and "原有储值 58.50 元" in res.text
    [fang] = _with_phone(live, "13700001111")
    assert fang.card_no == membership.card_number(fang.id) and fang.openid is None
    assert (fang.name, fang.points_balance, fang.balance_fen) == ("王芳", 320, 5850)
    with live.session() as s, s.read():
        assert s.execute(select(PointsLedger.reason, PointsLedger.idem_key, PointsLedger.delta)
                         ).all() == [("import", "import:13700001111", 320)]
        assert s.execute(select(StoredValueLedger.reason, StoredValueLedger.idem_key,
                                StoredValueLedger.delta_fen)
                         ).all() == [("import", "import:13700001111", 5850)]
    page = ops.get(f"/admin/members/{fang.id}").text
    assert "导入原有积分" in page and "导入原有储值" in page and "+58.50" in page
    # The operator finds them by phone, part of the card number or the name.
    for q in ("13700001111", fang.card_no[-6:], "王"):
        assert f"/admin/members/{fang.id}" in ops.get("/admin/members", params={"q": q}).text

    # The same file again: both phones are members now; each row says so, nothing written.
    res = _upload(ops, PAPER)
    assert res.status_code == 400 and "2 行有错误，未导入任何数据" in res.text
    assert f"该手机号已是会员 {fang.card_no} 的手机号（请用卡号列更新该会员）。" in res.text
    assert len(_with_phone(live, "13700001111")) == 1
    assert _with_phone(live, "13700001111")[0].points_balance == 320


def test_a_phone_twice_in_the_file_is_refused_for_that_row(live):
    ops = logged_in(live, "otto", "operator")
    twice = "手机号,姓名\n13700003333,甲\n13700003333,乙\n13700004444,丙\n"
    res = _upload(ops, twice)
    errors = res.text.split('id="import-errors"')[1]
    assert '<td class="num">3</td><td>手机号与第 2 行重复。</td>' in errors
    res = _upload(ops, twice, skip_invalid="1")
    assert "新建会员 2" in res.text and "跳过错误行 1" in res.text
    assert [m.name for m in _with_phone(live, "13700003333")] == ["甲"]


def test_joining_in_the_mini_program_with_that_phone_gets_the_imported_member(
        live, mini_sandbox):
    _upload(logged_in(live, "otto", "operator"), PAPER)
    [paper] = _with_phone(live, "13700001111")
    api = ApiClient(live, mini_sandbox)
    me = api.login("oMiniFangXXXXXXXXXXXXXXXXXX1")  # a new member, with sign-up points
    joined = api.get("me/card", me).json()["points"]
    res = api.put("me/profile/phone", me,
                  json={"code": mini_sandbox.issue_phone_code("13700001111")})
    assert res.status_code == 200, res.text
    card = api.get("me/card", me).json()
    assert (card["points"], card["balance_fen"]) == (joined + 320, 5850)
    assert api.get("me/profile", me).json()["name"] == "王芳"
    [one] = _with_phone(live, "13700001111")  # one member for the phone: the logged-in one
    assert one.card_no == me.card_no
    with live.session() as s, s.read():
        assert membership.by_card(s, paper.card_no).id == one.id  # the paper card finds them
        assert s.get(Member, paper.id).points_balance == 0


def test_a_follower_who_links_the_mini_program_and_verifies_the_phone_gets_it_too(
        live, mini_sandbox):
    _upload(logged_in(live, "otto", "operator"), PAPER)
    sim = live.simulator()
    sim.subscribe("oFangOAXXXXXXXXXXXXXXXXXXXX1")
    api = ApiClient(live, mini_sandbox)
    # Both apps bound to one Open Platform account: the follower's unionid is known.
    with live.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid == "oFangOAXXXXXXXXXXXXXXXXXXXX1")
                  .values(unionid="uFangUNIONXXXXXXXXXXXXXXXX1"))
    me = api.login("oMiniFangXXXXXXXXXXXXXXXXXX2", unionid="uFangUNIONXXXXXXXXXXXXXXXX1")
    assert me.body["created"] is False  # the follower's member, now in the mini-program too
    before = api.get("me/card", me).json()["points"]
    api.put("me/profile/phone", me, json={"code": mini_sandbox.issue_phone_code("13700001111")})
    assert api.get("me/card", me).json()["points"] == before + 320
    [one] = _with_phone(live, "13700001111")
    assert one.openid == "oFangOAXXXXXXXXXXXXXXXXXXXX1" and one.card_no == me.card_no
    with live.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Member).where(
            Member.card_no.is_not(None), Member.phone == "13700001111")) == 1
