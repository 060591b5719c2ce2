"""会员卡挂失 / 补卡: the member (API), an operator (console) or the CLI blocks a card
number; a new number is issued; the old one is refused at the till, by card number and in
member codes signed with it, with a clear message; points and history stay; audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api_helpers import (CASHIER, ApiClient, api_config, give_points, member_code,  # noqa: F401
                         member_id, mini_sandbox)
from conftest import serve
from console_helpers import logged_in
from test_cli import run
from wx_member.members import membership
from wx_member.models import AuditLog, CardHistory, Member
from wx_member.payments import stored_value
from wx_member.payments import balance_payments
from wx_member.platform.card_numbers import CardLost

LOST = {"code": "CARD_LOST", "message": "该会员卡已挂失，不能使用。请出示补办后的新卡或刷新会员码。"}


@pytest.fixture
def live_cards(db_url, mini_sandbox):
    yield from serve(api_config(db_url, mini_sandbox, cookie_secure=False))


def test_the_member_reports_the_card_lost_and_the_old_number_is_refused(live_cards,
                                                                        mini_sandbox):
    live = live_cards
    api = ApiClient(live, mini_sandbox)
    me = api.login("oLoser")
    give_points(live, me.card_no, 90, "t")  # 100 points
    mid = member_id(live, me.card_no)
    with live.session() as s, s.begin():
        stored_value.post(s, s.get(Member, mid), 5000, "recharge", "recharge:test")
    before_loss = member_code(api, me)

    res = api.post("me/card/lost", me)
    assert res.status_code == 200, res.text
    new = res.json()["card_no"]
    assert res.json()["old_card_no"] == me.card_no and new != me.card_no
    assert membership.is_card_number(new) and len(new) == 12
    card = api.get("me/card", me).json()
    assert (card["card_no"], card["points"], card["balance_fen"]) == (new, 100, 5000)

    # The till: a member code signed with the old number, and the old number typed in.
    res = api.post("cashier/resolve", json={"code": before_loss}, headers=CASHIER)
    assert (res.status_code, res.json()) == (400, LOST)
    res = api.post("cashier/cash-off", headers=CASHIER, json={
        "code": before_loss, "order_no": "POS-L", "amount_fen": 1000})
    assert res.json() == LOST
    with live.session() as uow, pytest.raises(CardLost):
        balance_payments.pay(uow, me.card_no, 100, "SHOP-L", by="till")
    # The new number and a fresh code work.
    res = api.post("cashier/resolve", json={"code": member_code(api, me)}, headers=CASHIER)
    assert res.json()["card_no"] == new
    with live.session() as uow:
        assert balance_payments.pay(uow, new, 100, "SHOP-N", by="till").balance_fen == 4900
    with live.session() as s, s.read():
        assert [(h.card_no, h.kind, h.by) for h in s.scalars(select(CardHistory))] == [
            (me.card_no, "lost", "member")]
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "card.lost"))
        assert (entry.actor, entry.before, entry.after) == ("member", {"card_no": me.card_no},
                                                            {"card_no": new})


def test_an_operator_reissues_in_the_console_and_the_cli(live_cards, mini_sandbox, db_url):
    live = live_cards
    api = ApiClient(live, mini_sandbox)
    me = api.login("oOps")
    mid = member_id(live, me.card_no)
    viewer = logged_in(live, "viewer1", "viewer")
    viewer.get(f"/admin/members/{mid}")
    assert viewer.post(f"/admin/members/{mid}/card-lost").status_code == 403
    ops = logged_in(live, "operator1", "operator")
    page = ops.get(f"/admin/members/{mid}").text
    assert "挂失并补卡" in page
    res = ops.post(f"/admin/members/{mid}/card-lost")
    assert res.status_code == 302
    page = ops.get(f"/admin/members/{mid}").text
    with live.session() as s, s.read():
        second = s.get(Member, mid).card_no
    assert f"卡号 {me.card_no} 已挂失，新卡号 {second}" in page
    assert "已挂失" in page and "挂失补卡" in page  # the history and the audit entry

    res = run("member", "card-lost", second, "--by", "ops:wang", db_url=db_url)
    assert res.returncode == 2 and "--yes" in res.stderr
    # The operator may name the member by a lost number: it finds them.
    res = run("member", "card-lost", me.card_no, "--by", "ops:wang", "--yes", db_url=db_url)
    assert res.returncode == 0, res.stderr
    with live.session() as s, s.read():
        third = s.get(Member, mid).card_no
        kinds = [(h.card_no, h.kind) for h in s.scalars(select(CardHistory)
                                                         .order_by(CardHistory.id))]
    assert f"card {second} blocked, new card {third}" in res.stdout
    assert kinds == [(me.card_no, "lost"), (second, "lost")] and len({third, second}) == 2
    res = run("member", "card-lost", "8999999999", "--by", "ops:wang", "--yes", db_url=db_url)
    assert res.returncode == 2
