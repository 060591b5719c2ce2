"""A member's name and stored value on the member page, over HTTP (issue 18): an operator
names a member (audited) and finds them by part of the name in any case, a store account
only in its store; a stored-value correction in yuan with a reason, once per form, never
below zero, audited, refused to viewers and to another store's account."""
from __future__ import annotations

import re

from sqlalchemy import select

from console_helpers import console, logged_in  # noqa: F401  (fixture)
from helpers import member
from test_console_stores import seed, store_account
from wx_member.models import AuditLog, Member, StoredValueLedger

KEY_RE = re.compile(r'id="balance-key" name="key" type="hidden" value="([0-9a-f]+)"')


def _page(b, m) -> str:
    return b.get(f"/admin/members/{m.id}").text


def _key(html: str) -> str:
    """The key of the balance correction form (the points form has its own)."""
    form = html.split('id="balance-correction"')[1].split("</form>")[0]
    return KEY_RE.search(form).group(1)


def _balance(live, m) -> tuple[int, int]:
    with live.session() as s, s.read():
        return (s.get(Member, m.id).balance_fen, sum(s.scalars(
            select(StoredValueLedger.delta_fen).where(StoredValueLedger.member_id == m.id))))


def test_an_operator_names_a_member_and_finds_them_by_part_of_it(console):
    sim = console.simulator()
    for openid in ("oLily", "oLilian", "oOther"):
        sim.subscribe(openid)
    lily, lilian = member(console, "oLily"), member(console, "oLilian")
    b = logged_in(console, "otto", "operator")
    _page(b, lily)
    b.post(f"/admin/members/{lily.id}/name", {"name": "  Lily  Wang "})
    page = _page(b, lily)
    assert "姓名已保存。" in page and '<span id="member-name">Lily Wang</span>' in page
    b.post(f"/admin/members/{lilian.id}/name", {"name": "王丽莲"})
    b.post(f"/admin/members/{lilian.id}/name", {"name": "<b>x</b>"})
    assert "姓名最多 30 个字" in _page(b, lilian)
    b.post(f"/admin/members/{lilian.id}/name", {"name": "长" * 31})
    assert "姓名最多 30 个字" in _page(b, lilian)

    def found(q: str) -> set[str]:
        html = b.get("/admin/members", params={"q": q}).text.split('id="members"')[1]
        return set(re.findall(r"/admin/members/(\d+)", html))

    assert found("lily") == found("WANG") == {str(lily.id)}  # any case, any part
    assert found("丽") == {str(lilian.id)}
    assert found("oOther") == {str(member(console, "oOther").id)}  # openids still
    assert found("%") == set()  # a wildcard is a character here
    with console.session() as s, s.read():
        entries = s.execute(select(AuditLog.action, AuditLog.before, AuditLog.after)
                            .where(AuditLog.target == lily.card_no)).all()
    assert entries == [("member.name", None, "Lily Wang")]
    assert "修改姓名" in _page(b, lily) and "Lily Wang" in _page(b, lily).split("操作记录")[1]
    b.post(f"/admin/members/{lily.id}/name", {"name": ""})  # cleared
    assert 'id="member-name"' not in _page(b, lily)
    viewer = logged_in(console, "vic", "viewer")
    assert viewer.post(f"/admin/members/{lily.id}/name", {"name": "x"}).status_code == 403


def test_a_store_account_names_and_finds_only_its_stores_members(console):
    data = seed(console)
    sh, bj = data["people"]["oShanghai"], data["people"]["oBeijing"]
    hq = logged_in(console, "hqops", "operator")
    hq.get("/admin/members")
    for m, name in ((sh, "张伟"), (bj, "张伟")):
        hq.post(f"/admin/members/{m.id}/name", {"name": name})
    b = store_account(console, "sh_boss", "manager", "SH001")
    listed = b.get("/admin/members", params={"q": "张"}).text
    assert sh.card_no in listed and bj.card_no not in listed
    b.post(f"/admin/members/{bj.id}/name", {"name": "改名"})  # another store's: not found
    b.post(f"/admin/members/{sh.id}/name", {"name": "张伟伟"})
    with console.session() as s, s.read():
        assert (s.get(Member, bj.id).name, s.get(Member, sh.id).name) == ("张伟", "张伟伟")


def test_an_operator_corrects_stored_value_in_yuan_once_never_below_zero(console):
    console.simulator().subscribe("oSue")
    sue = member(console, "oSue")
    b = logged_in(console, "otto", "operator")
    page = _page(b, sue)
    assert 'data-confirm-large="500"' in page and "更正金额（元，负数为扣减）" in page
    key = _key(page)
    for _ in range(2):  # a double submit corrects once
        b.post(f"/admin/members/{sue.id}/balance",
               {"amount": "12.50", "note": "收银少记", "key": key})
    page = _page(b, sue)
    assert '<div class="v" id="balance">¥12.50</div>' in page
    sv = page.split('id="stored-value"')[1].split("</table>")[0]
    assert "+12.50" in sv and "人工更正" in sv and "otto: 收银少记" in sv
    assert _balance(console, sue) == (1250, 1250)

    b.post(f"/admin/members/{sue.id}/balance",
           {"amount": "-20", "note": "多记", "key": _key(page)})
    page = _page(b, sue)
    assert "储值余额只有 12.50 元，不能扣减 20.00 元：余额不能低于零。" in page
    assert _balance(console, sue) == (1250, 1250)
    for amount, note, refused in (("1.234", "x", "请按元填写金额"), ("abc", "x", "请按元填写金额"),
                                  ("5", "", "请填写更正金额（元）和原因。"),
                                  ("0", "x", "更正金额须为非零金额"),
                                  ("10001", "x", "不超过 10,000 元")):
        b.post(f"/admin/members/{sue.id}/balance",
               {"amount": amount, "note": note, "key": _key(_page(b, sue))})
        assert refused in _page(b, sue), amount
    b.post(f"/admin/members/{sue.id}/balance",
           {"amount": "-12.50", "note": "退现金", "key": _key(_page(b, sue))})
    assert _balance(console, sue) == (0, 0)
    with console.session() as s, s.read():
        audit = s.execute(select(AuditLog.before, AuditLog.after)
                          .where(AuditLog.action == "balance.correct")
                          .order_by(AuditLog.id)).all()
    assert [(a["balance_fen"], c["balance_fen"], c["delta_fen"]) for a, c in audit] == [
        (0, 1250, 1250), (1250, 0, -1250)]
    log = b.get("/admin/audit").text
    assert "更正储值" in log and "储值：0.00 元 → 12.50 元" in log and "储值变动：12.50 元" in log


def test_corrections_are_for_operators_of_the_members_store(console):
    data = seed(console)
    sh, bj = data["people"]["oShanghai"], data["people"]["oBeijing"]
    viewer = logged_in(console, "vic", "viewer")
    assert "更正储值" not in _page(viewer, sh)
    assert viewer.post(f"/admin/members/{sh.id}/balance",
                       {"amount": "5", "note": "x", "key": "k" * 16}).status_code == 403
    b = store_account(console, "sh_boss", "manager", "SH001")
    b.post(f"/admin/members/{bj.id}/balance", {"amount": "5", "note": "x", "key": "a" * 16})
    b.post(f"/admin/members/{sh.id}/balance",
           {"amount": "5", "note": "门店补录", "key": _key(_page(b, sh))})
    assert (_balance(console, bj), _balance(console, sh)) == ((0, 0), (500, 500))
