"""Stores in the console (issue 13): store accounts (店长, 店员) see their own store's
members, channel codes, KPIs and till keys only, enforced in the queries (IDOR: another
store's member by id, their orders, their codes and keys are not found); headquarters sees
everything, filters by store, creates, edits and closes stores, issues keys (shown once) and
revokes them, and moves a member to another home store (audited)."""
from __future__ import annotations

import csv
import io
import re

import pytest
import requests
from sqlalchemy import func, select

from console_helpers import Browser, PASSWORD, console, logged_in  # noqa: F401
from wx_member.console import operators
from wx_member.members import channels, membership, stores
from wx_member.models import AuditLog, Channel, Member, MemberTag, PointsLedger, TillKey
from wx_member.payments import till_keys


def seed(live) -> dict:
    """Two stores, a code in each, a member who joined through each, and one through none."""
    with live.session() as uow:
        ids = {code: stores.create(uow, code, name, by="test").id
               for code, name in (("SH001", "人民广场店"), ("BJ001", "国贸店"))}
        for scene, code in (("store_sh", "SH001"), ("store_bj", "BJ001")):
            channels.create(uow, live.rt.gateway, scene=scene, name=f"{code} 桌牌",
                            kind="store", store=code)
        bj_key = till_keys.issue(uow, "BJ001", "北京1号", by="test")
    sim = live.simulator()
    sim.subscribe("oShanghai", scene="store_sh")
    sim.subscribe("oBeijing", scene="store_bj")
    sim.subscribe("oNowhere")
    with live.session() as s, s.read():
        people = {o: membership.by_openid(s, o) for o in ("oShanghai", "oBeijing", "oNowhere")}
    return {"stores": ids, "people": people, "bj_key": bj_key}


def store_account(live, username: str, role: str, store: str) -> Browser:
    with live.session() as uow:
        operators.create(uow, username, PASSWORD, role, by="test", store=store)
    b = Browser(live)
    assert b.login(username).status_code == 302
    b.get("/admin/")
    return b


def kpi(html: str, label: str) -> int:
    m = re.search(rf'<div class="k">{label}</div><div class="v">(\d+)</div>', html)
    assert m, label
    return int(m.group(1))


def test_a_store_manager_cannot_reach_another_stores_members(console):
    data = seed(console)
    sh, bj = data["people"]["oShanghai"], data["people"]["oBeijing"]
    b = store_account(console, "sh_boss", "manager", "SH001")
    listed = b.get("/admin/members").text
    assert sh.card_no in listed and bj.card_no not in listed
    assert "oNowhere" not in listed  # a member of no store is headquarters'
    # Asking for the other store, by filter, search or id: not found.
    assert bj.card_no not in b.get(f"/admin/members?store={data['stores']['BJ001']}").text
    assert "没有找到会员" in b.get(f"/admin/members?q={bj.card_no}").text
    res = b.get(f"/admin/members/{bj.id}")
    assert res.status_code == 404 and bj.card_no not in res.text and "会员不存在" in res.text
    assert b.get(f"/admin/members/{sh.id}").status_code == 200
    # Nor change them: points, tags.
    page = b.get(f"/admin/members/{sh.id}").text
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
    b.post(f"/admin/members/{bj.id}/points", {"delta": "500", "note": "越权", "key": key})
    b.post(f"/admin/members/{bj.id}/tags", {"tag": "越权"})
    with console.session() as s, s.read():
        assert s.scalar(select(func.sum(PointsLedger.delta)).where(
            PointsLedger.member_id == bj.id)) == 10  # the sign-up points only
        assert s.scalar(select(func.count()).select_from(MemberTag)) == 0
    # The export holds their own members only, whatever the form says.
    res = b.post("/admin/members/export", {"tag": "", "store": str(data["stores"]["BJ001"])})
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [sh.card_no]
    # Moving members between stores, importing, rules, campaigns, audit: headquarters only.
    assert b.post(f"/admin/members/{sh.id}/home-store", {"store": "BJ001"}).status_code == 403
    assert b.post("/admin/channels/store_sh/store", {"store": "BJ001"}).status_code == 403
    for path in ("/admin/campaigns", "/admin/rules", "/admin/audit", "/admin/members/import",
                 "/admin/menu", "/admin/operators"):
        assert b.get(path).status_code == 403, path
    with console.session() as s, s.read():
        assert s.get(Member, sh.id).home_store_id == data["stores"]["SH001"]


def test_store_accounts_see_their_own_channel_codes_kpis_and_keys(console):
    data = seed(console)
    b = store_account(console, "sh_boss", "manager", "SH001")
    codes = b.get("/admin/channels").text
    assert "store_sh" in codes and "store_bj" not in codes
    assert b.get("/admin/channels/store_bj/qrcode.png").status_code == 404
    assert b.get("/admin/channels/store_sh/qrcode.png").status_code == 200
    for query in ("", f"?store={data['stores']['BJ001']}"):  # the filter is not theirs
        page = b.get("/admin/" + query).text
        assert kpi(page, "会员总数") == 1 and "SH001 人民广场店" in page
    listed = b.get("/admin/stores").text
    assert "SH001" in listed and "BJ001" not in listed
    assert b.get("/admin/stores/BJ001").status_code == 404
    # Another store's keys: neither issued nor revoked.
    b.get("/admin/stores/SH001")
    b.post("/admin/stores/BJ001/keys", {"key-label": "越权"})
    b.post(f"/admin/stores/BJ001/keys/{data['bj_key'].id}/revoke")
    with console.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(TillKey)) == 1
        assert s.get(TillKey, data["bj_key"].id).revoked_at is None
    # Their own store's key: issued, shown once, working at the till for their store only.
    res = b.post("/admin/stores/SH001/keys", {"key-label": "1号收银台"})
    assert res.status_code == 201
    key = re.search(r'<code id="till-key">([^<]+)</code>', res.text).group(1)
    assert key not in b.get("/admin/stores/SH001").text  # once
    till = requests.get(console.url + "till/v1/store", timeout=10,
                        headers={"Authorization": f"Bearer {key}"})
    assert till.json()["code"] == "SH001"
    # Nor can they create or close stores.
    b.get("/admin/stores/SH001")
    assert b.post("/admin/stores/SH001/edit", {"edit-name": "x", "edit-status": "closed"}
                  ).status_code == 403
    assert b.post("/admin/stores", {"new-code": "X1", "new-name": "x"}).status_code == 403


def test_a_store_clerk_only_reads(console):
    data = seed(console)
    b = store_account(console, "sh_clerk", "clerk", "SH001")
    sh = data["people"]["oShanghai"]
    assert b.get(f"/admin/members/{sh.id}").status_code == 200
    assert b.post(f"/admin/members/{sh.id}/tags", {"tag": "VIP"}).status_code == 403
    b.get("/admin/stores/SH001")
    assert b.post("/admin/stores/SH001/keys", {"key-label": "x"}).status_code == 403


def test_store_roles_need_a_store_and_hq_roles_none(console):
    seed(console)
    with console.session() as uow:
        with pytest.raises(operators.InvalidOperator, match="store role"):
            operators.create(uow, "nobody1", PASSWORD, "manager", by="test")
        with pytest.raises(operators.InvalidOperator, match="HQ role"):
            operators.create(uow, "nobody2", PASSWORD, "operator", by="test", store="SH001")
        with pytest.raises(stores.UnknownStore):
            operators.create(uow, "nobody3", PASSWORD, "clerk", by="test", store="NOPE")
    assert operators.role_at_least("manager", "operator") and not operators.role_at_least(
        "clerk", "operator") and not operators.role_at_least("manager", "admin")


def test_headquarters_runs_the_stores_and_filters_by_store(console):
    data = seed(console)
    sh, bj = data["people"]["oShanghai"], data["people"]["oBeijing"]
    b = logged_in(console, "hq_admin", "admin")
    everyone = b.get("/admin/").text
    assert kpi(everyone, "会员总数") == 3 and "全部门店" in everyone
    assert kpi(b.get(f"/admin/?store={data['stores']['BJ001']}").text, "会员总数") == 1
    listed = b.get(f"/admin/members?store={data['stores']['BJ001']}").text
    assert bj.card_no in listed and sh.card_no not in listed
    assert "store_sh" not in b.get(f"/admin/channels?store={data['stores']['BJ001']}").text
    # A new store, edited, a key issued (shown once) and revoked, then closed.
    b.get("/admin/stores")
    res = b.post("/admin/stores", {"new-code": "GZ001", "new-name": "天河店", "new-city": "广州"})
    assert res.status_code == 302
    b.get("/admin/stores/GZ001")
    res = b.post("/admin/stores/GZ001/keys", {"key-label": "1号"})
    key = re.search(r'<code id="till-key">([^<]+)</code>', res.text).group(1)
    page = b.get("/admin/stores/GZ001").text
    assert key not in page and key[:12] in page
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.get(console.url + "till/v1/store", headers=headers, timeout=10).ok
    key_id = int(re.search(r"/keys/(\d+)/revoke", page).group(1))
    b.post(f"/admin/stores/GZ001/keys/{key_id}/revoke")
    res = requests.get(console.url + "till/v1/store", headers=headers, timeout=10)
    assert res.json()["code"] == "TILL_KEY_REVOKED"
    b.get("/admin/stores/GZ001")
    b.post("/admin/stores/GZ001/edit", {"edit-name": "天河城店", "edit-city": "广州",
                                         "edit-address": "天河路 1 号", "edit-status": "closed"})
    assert "已关闭" in b.get("/admin/stores/GZ001").text
    # A channel code put in another store from the channel list, audited.
    b.get("/admin/channels")
    b.post("/admin/channels/store_sh/store", {"store": "GZ001"})  # closed: refused
    assert "门店已关闭" in b.get("/admin/channels").text
    b.post("/admin/channels/store_sh/store", {"store": "BJ001"})
    with console.session() as s, s.read():
        assert s.scalar(select(Channel.store_id).where(Channel.scene == "store_sh")) == data[
            "stores"]["BJ001"]
    # A member moved to another home store from their page, audited.
    b.get(f"/admin/members/{sh.id}")
    b.post(f"/admin/members/{sh.id}/home-store", {"store": "BJ001"})
    assert "BJ001 国贸店" in b.get(f"/admin/members/{sh.id}").text
    with console.session() as s, s.read():
        assert s.get(Member, sh.id).home_store_id == data["stores"]["BJ001"]
        actions = [(a.action, a.actor) for a in s.scalars(select(AuditLog).where(
            AuditLog.actor == "hq_admin").order_by(AuditLog.id))]
    assert actions == [("store.create", "hq_admin"), ("till_key.issue", "hq_admin"),
                       ("till_key.revoke", "hq_admin"), ("store.close", "hq_admin"),
                       ("channel.store", "hq_admin"), ("member.home_store", "hq_admin")]


def test_an_admin_picks_a_store_accounts_store_by_name(console):
    with console.session() as uow:
        stores.create(uow, "SH001", "人民广场店", by="test")
    b = logged_in(console, "root", "admin")
    page = b.get("/admin/operators").text
    new = page.split('name="new-store"')[1].split("</select>")[0]
    assert ">总部（不属于门店）<" in new and 'value="SH001">人民广场店（SH001）<' in new
    b.post("/admin/operators", {"new-username": "li.ming", "new-password": "x" * 12,
                                "new-role": "manager", "new-store": "SH001"})
    page = b.get("/admin/operators").text
    assert "已新增账号 li.ming" in page
    row = page.split("<td>li.ming</td>")[1].split("</tr>")[0]
    assert "<td>人民广场店（SH001）</td>" in row  # the list names the store
    assert '<option selected value="SH001">人民广场店（SH001）' in row  # and its picker holds it
    b.post("/admin/operators", {"new-username": "wu.fang", "new-password": "x" * 12,
                                "new-role": "clerk", "new-store": ""})  # a store role needs one
    assert "<td>wu.fang</td>" not in b.get("/admin/operators").text


def test_a_store_managers_pages_offer_only_forms_they_may_use(console):
    """Headquarters' actions (挂失补卡, merging, shipping, voiding a coupon, refunds, editing
    stores, codes and coupon templates) are refused to store accounts: the pages a store
    manager opens do not show those forms, and every form they do show is let through."""
    data = seed(console)
    sh = data["people"]["oShanghai"]
    hq = logged_in(console, "hq_ops", "operator")
    assert 'id="card-lost"' in hq.get(f"/admin/members/{sh.id}").text  # shown to HQ
    b = store_account(console, "sh_boss2", "manager", "SH001")
    assert 'id="card-lost"' not in b.get(f"/admin/members/{sh.id}").text
    posted = set()
    for path in ("/admin/", "/admin/members", f"/admin/members/{sh.id}", "/admin/channels",
                 "/admin/stores", "/admin/stores/SH001", "/admin/coupons"):
        res = b.get(path)
        assert res.status_code == 200, path
        for form in re.findall(r"<form\b[^>]*>", res.text):
            if 'method="post"' not in form:
                continue
            action = re.search(r'action="([^"]*)"', form)
            action = action.group(1).replace("&amp;", "&") if action and action.group(1) else path
            if action not in posted and action != "/admin/logout":  # empty: incomplete at most
                posted.add(action)
                assert b.post(action).status_code != 403, (path, action)
    assert f"/admin/members/{sh.id}/points" in posted  # the manager still adjusts points


def test_a_store_page_shows_its_self_payments_and_the_pay_page_path(console):
    """到店买单 on the store page: the mini-program path to print as the store's code, and
    what members paid this store from the mini-program, which the store's own account sees
    and another store's does not."""
    from sqlalchemy import update
    from zoneinfo import ZoneInfo
    from wx_member.models import Member
    from wx_member.payments import store_payments, stored_value
    data = seed(console)
    sh = data["people"]["oShanghai"]
    with console.session() as s, s.begin():
        s.execute(update(Member).where(Member.id == sh.id).values(tier="normal"))
        stored_value.post(s, s.get(Member, sh.id), 20000, "recharge", "seed:sh")
    with console.session() as uow:
        paid = store_payments.pay(uow, None, member_id=sh.id, request_key="k1",
                                  store_code="SH001", amount_fen=3850, pay_with="balance",
                                  undiscounted_fen=1200,
                                  tz=ZoneInfo("Asia/Shanghai"))["payment"]
    no = paid["out_trade_no"]

    b = store_account(console, "sh_clerk", "clerk", "SH001")
    page = b.get("/admin/stores/SH001").text
    assert "pages/pay/pay?store=SH001" in page
    table = page.split('id="self-payments"')[1].split("</table>")[0]
    assert no in table and "38.50" in table and "12.00" in table and "储值" in table
    assert sh.card_no not in table  # masked: the clerk confirms by the number and amount

    other = store_account(console, "bj_clerk", "clerk", "BJ001")
    assert other.get("/admin/stores/SH001").status_code == 404
    bj = other.get("/admin/stores/BJ001").text
    assert no not in bj and "最近 24 小时没有到店买单。" in bj
