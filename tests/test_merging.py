"""One person, one member: an Official Account member and the same person's mini-program
member are merged automatically (same unionid, same verified phone) or by an operator in
the console; points, stored value, coupons, orders, tags and history move, balance = ledger
sum on both sides, no award twice, the old card number finds the survivor, undo within 7
days; a member paying while being merged loses nothing; merge then erase leaves nothing."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from api_helpers import ApiClient, mini_sandbox  # noqa: F401
from console_helpers import logged_in
from privacy_helpers import (ALICE, Person, everything_holding,  # noqa: F401
                             jsapi_recharge_partly_refunded, live_all, notifier)
from wx_member.clock import utcnow
from wx_member.members import membership, merging, privacy, unmerging
from wx_member.models import (AuditLog, JsapiOrder, Member, MemberMerge, MemberTag, Order,
                              PointsLedger, RechargeRefund)


def _member(live, **where) -> Member:
    with live.session() as s, s.read():
        return s.scalar(select(Member).filter_by(**where))


def _consistent(live, *ids: int) -> None:
    """balance = ledger sum, points and stored value, for each member."""
    with live.session() as s, s.read():
        for mid in ids:
            m = s.get(Member, mid)
            assert (m.points_balance, m.balance_fen) == merging.ledger_sums(s, mid), mid


def _recharge_owners(live, out_trade_no: str) -> tuple[int, int]:
    """The members a JSAPI recharge order and its refund belong to."""
    with live.session() as s, s.read():
        return (s.scalar(select(JsapiOrder.member_id)
                         .where(JsapiOrder.out_trade_no == out_trade_no)),
                s.scalar(select(RechargeRefund.member_id)
                         .where(RechargeRefund.out_trade_no == out_trade_no)))


def _signups(live) -> int:
    with live.session() as s, s.read():
        return s.scalar(select(func.count()).select_from(PointsLedger)
                        .where(PointsLedger.reason == "signup"))


def _oa_member(live, notifier, who: Person, phone: str | None = None, sim=None) -> Member:
    """An Official Account follower who paid, was tagged and has a phone on file. (One
    simulator per test: it never sends one user's two events in the same second, which
    WeChat's dedup key would take for a retry.)"""
    from wx_member.console import member_admin

    (sim or live.simulator()).subscribe(who.openid)
    assert notifier.v2_payment(who.openid, f"OA-{who.openid[-4:]}", 20000).ok
    assert notifier.v2_payment(who.openid, f"SV-{who.openid[-4:]}", 5000, attach="recharge").ok
    oa = _member(live, openid=who.openid)
    with live.session() as uow:
        member_admin.add_tag(uow, oa.id, "VIP", by="ops:li")
    if phone:  # as the member list import or an operator records it
        with live.session() as s, s.begin():
            s.execute(update(Member).where(Member.id == oa.id).values(phone=phone))
    return _member(live, id=oa.id)


def test_a_verified_phone_merges_the_official_account_member(live_all, mini_sandbox, notifier):
    live, sim = live_all, live_all.simulator()
    oa = _oa_member(live, notifier, ALICE, phone=ALICE.phone, sim=sim)
    api = ApiClient(live, mini_sandbox)
    me = api.login(ALICE.mini_openid)  # no unionid: a second member today
    assert me.body["created"] is True and me.card_no != oa.card_no
    mini = _member(live, mini_openid=ALICE.mini_openid)
    total = oa.points_balance + mini.points_balance
    signups = _signups(live)

    res = api.put("me/profile/phone", me, json={"code": mini_sandbox.issue_phone_code(ALICE.phone)})
    assert res.status_code == 200, res.text
    card = api.get("me/card", me).json()
    assert (card["card_no"], card["points"], card["balance_fen"]) == (me.card_no, total, 5000)
    assert card["total_spend_fen"] == 20000
    survivor = _member(live, id=mini.id)
    assert (survivor.openid, survivor.mini_openid, survivor.phone) == (
        ALICE.openid, ALICE.mini_openid, ALICE.phone)
    gone = _member(live, id=oa.id)
    assert (gone.openid, gone.card_no, gone.points_balance, gone.balance_fen) == (None, None, 0, 0)
    _consistent(live, oa.id, mini.id)
    with live.session() as s, s.read():
        assert s.scalar(select(Order.member_id).where(Order.out_trade_no == f"OA-{ALICE.openid[-4:]}")) == mini.id
        assert list(s.scalars(select(MemberTag.tag).where(MemberTag.member_id == mini.id))) == ["VIP"]
        # The old card number finds the survivor at the till and in the console.
        assert membership.by_card(s, oa.card_no).id == mini.id
        merge = s.scalar(select(MemberMerge))
        assert (merge.reason, merge.by, merge.survivor_id) == ("phone", "auto", mini.id)
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "member.merge")) == "auto"
    # No award twice: the same number of sign-ups, and following again awards nothing.
    assert _signups(live) == signups
    reply = sim.subscribe(ALICE.openid).reply["Content"]
    assert me.card_no in reply and _signups(live) == signups
    assert api.get("me/card", me).json()["points"] == total


def test_the_same_unionid_later_merges(live_all, mini_sandbox, notifier):
    live = live_all
    oa = _oa_member(live, notifier, ALICE)
    api = ApiClient(live, mini_sandbox)
    first = api.login(ALICE.mini_openid)
    # Later the Official Account member's unionid is known (both apps bound to one Open
    # Platform account), and the mini-program's login now carries it too.
    with live.session() as s, s.begin():
        s.execute(update(Member).where(Member.id == oa.id).values(unionid=ALICE.unionid))
    again = api.login(ALICE.mini_openid, ALICE.unionid)
    assert again.card_no == first.card_no
    card = api.get("me/card", again).json()
    assert card["balance_fen"] == 5000 and card["points"] == oa.points_balance + 10
    with live.session() as s, s.read():
        assert s.scalar(select(MemberMerge.reason)) == "unionid"
    _consistent(live, oa.id, _member(live, card_no=first.card_no).id)


def test_an_operator_merges_in_the_console_and_undoes_within_7_days(live_all, mini_sandbox,
                                                                     notifier):
    live = live_all
    oa = _oa_member(live, notifier, ALICE)
    api = ApiClient(live, mini_sandbox)
    me = api.login(ALICE.mini_openid)
    # A WeChat Pay recharge in the mini-program, partly refunded by the shop: its rows move.
    recharge = jsapi_recharge_partly_refunded(api, me, mini_sandbox, live)
    mini = _member(live, card_no=me.card_no)
    before = {m.id: (m.points_balance, m.balance_fen, m.card_no) for m in (oa, mini)}
    assert _recharge_owners(live, recharge) == (mini.id, mini.id)
    ops = logged_in(live, "operator1", "operator")
    ops.get(f"/admin/members/{oa.id}")
    assert ops.post(f"/admin/members/{oa.id}/merge", {"other": oa.card_no}).status_code == 302
    assert "不能与自己合并" in ops.get(f"/admin/members/{oa.id}").text
    assert ops.post(f"/admin/members/{oa.id}/merge", {"other": me.card_no}).status_code == 302
    page = ops.get(f"/admin/members/{oa.id}").text
    assert "已合并" in page and "撤销合并" in page and "人工合并" in page
    merged = _member(live, id=oa.id)
    assert merged.points_balance == before[oa.id][0] + before[mini.id][0]
    assert merged.mini_openid == ALICE.mini_openid
    assert _recharge_owners(live, recharge) == (oa.id, oa.id)
    _consistent(live, oa.id, mini.id)

    with live.session() as s, s.read():
        merge_id = s.scalar(select(MemberMerge.id))
    with live.session() as uow, pytest.raises(merging.MergeRefused) as late:
        unmerging.undo(uow, merge_id, "ops:li", now=utcnow() + timedelta(days=8))
    assert "7 天" in late.value.user_message
    assert ops.post(f"/admin/members/{oa.id}/merges/{merge_id}/undo").status_code == 302
    assert "合并已撤销" in ops.get(f"/admin/members/{oa.id}").text
    after = {m.id: (m.points_balance, m.balance_fen, m.card_no)
             for m in (_member(live, id=oa.id), _member(live, id=mini.id))}
    assert after == before
    assert _member(live, id=mini.id).mini_openid == ALICE.mini_openid
    assert _recharge_owners(live, recharge) == (mini.id, mini.id)
    _consistent(live, oa.id, mini.id)
    # Two Official Account followers are two WeChat accounts: refused, nothing changes.
    live.simulator().subscribe("oSomeoneElseXXXXXXXXXXXXXXX1")
    other = _member(live, openid="oSomeoneElseXXXXXXXXXXXXXXX1")
    with live.session() as uow, pytest.raises(merging.MergeRefused):
        merging.merge(uow, oa.id, other.id, "ops:li")
    _consistent(live, oa.id, mini.id, other.id)


def test_paying_while_being_merged_loses_nothing(live_all, mini_sandbox, notifier):
    live = live_all
    oa = _oa_member(live, notifier, ALICE)
    me = ApiClient(live, mini_sandbox).login(ALICE.mini_openid)
    mini = _member(live, card_no=me.card_no)
    with live.session() as s, s.read():
        points_before = s.scalar(select(func.sum(Member.points_balance)))

    def pay(n: int):
        payer = ALICE.openid if n % 2 else ALICE.mini_openid
        return notifier.v2_payment(payer, f"RACE-{n}", 10000).ok

    with ThreadPoolExecutor(4) as pool:
        payments = [pool.submit(pay, n) for n in range(8)]
        with live.session() as uow:
            merging.merge(uow, mini.id, oa.id, "ops:li")
        assert all(p.result() for p in payments)
    _consistent(live, oa.id, mini.id)
    with live.session() as s, s.read():
        earned = s.scalar(select(func.sum(Order.points_earned))
                          .where(Order.out_trade_no.like("RACE-%")))
        assert s.scalar(select(func.count()).select_from(Order)
                        .where(Order.out_trade_no.like("RACE-%"))) == 8
        assert s.scalar(select(func.sum(Member.points_balance))) == points_before + earned
        assert s.get(Member, oa.id).points_balance == 0 and earned > 0


def test_merge_then_erase_leaves_nothing_of_either(live_all, mini_sandbox, notifier):
    live = live_all
    oa = _oa_member(live, notifier, ALICE, phone=ALICE.phone)
    api = ApiClient(live, mini_sandbox)
    me = api.login(ALICE.mini_openid)
    api.put("me/profile/phone", me, json={"code": mini_sandbox.issue_phone_code(ALICE.phone)})
    with live.session() as uow:  # the merged stored value goes back first
        with pytest.raises(privacy.StoredValueLeft):
            privacy.erase_member(uow, me.card_no, by="ops:li")
    assert notifier.v2_refund(f"SV-{ALICE.openid[-4:]}", "SVR", 5000, 5000).ok
    with live.session() as uow:
        privacy.erase_member(uow, oa.card_no, by="ops:li")  # the old number finds them
    needles = (ALICE.openid, ALICE.mini_openid, ALICE.phone)
    assert everything_holding(live, needles) == []
    with live.session() as s, s.read():
        merge_id = s.scalar(select(MemberMerge.id))
    with live.session() as uow, pytest.raises(merging.MergeRefused):
        unmerging.undo(uow, merge_id, "ops:li")
    _consistent(live, oa.id, _member(live, card_no=me.card_no).id)


def test_the_cli_merges_and_unmerges(live_all, mini_sandbox, notifier, db_url):
    from test_cli import run

    live = live_all
    oa = _oa_member(live, notifier, ALICE)
    me = ApiClient(live, mini_sandbox).login(ALICE.mini_openid)
    res = run("member", "merge", oa.card_no, me.card_no, "--by", "ops:li", db_url=db_url)
    assert res.returncode == 2 and "--yes" in res.stderr
    res = run("member", "merge", oa.card_no, oa.card_no, "--by", "ops:li", "--yes", db_url=db_url)
    assert res.returncode == 2 and "不能与自己合并" in res.stderr
    res = run("member", "merge", oa.card_no, me.card_no, "--by", "ops:li", "--yes", db_url=db_url)
    assert res.returncode == 0, res.stderr
    assert f"merged into {oa.id}" in res.stdout
    with live.session() as s, s.read():
        merge_id = s.scalar(select(MemberMerge.id))
        assert membership.by_card(s, me.card_no).id == oa.id
    res = run("member", "unmerge", str(merge_id), "--by", "ops:li", db_url=db_url)
    assert res.returncode == 0, res.stderr
    res = run("member", "unmerge", str(merge_id), "--by", "ops:li", db_url=db_url)
    assert res.returncode == 2 and "已撤销" in res.stderr
    assert _member(live, card_no=me.card_no).mini_openid == ALICE.mini_openid
