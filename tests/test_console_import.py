"""The console's member pages over HTTP: coupons and stored value on the profile (read
only), and the CSV import form with CSRF, roles and its Chinese error report."""
from __future__ import annotations

from sqlalchemy import func, select

from console_helpers import console, logged_in  # noqa: F401  (fixture)
from helpers import member
from wx_member.models import Member, MemberTag
from wx_member.payments import balance_payments
from wx_member.coupons import wallet
from wx_member.payments import stored_value

CSV = "openid,phone,birthday,tags\noImp1,13800138000,1990-05-20,VIP\noImp2,,,\n"


def test_profile_shows_coupons_and_stored_value(console):
    console.simulator().subscribe("oAmy")  # joining issues the sign-up voucher (template 1)
    amy = member(console, "oAmy")
    with console.session() as s:
        wallet.issue(s, "oAmy", 2, "gift-1", by="test")
    with console.session() as s, s.begin():
        stored_value.post(s, s.get(Member, amy.id), 50000, "recharge", "recharge:T900",
                          order_no="T900")
    with console.session() as s:
        balance_payments.pay(s, "oAmy", 1250, "SHOP-7", by="till")
    b = logged_in(console, "vic", "viewer")
    page = b.get(f"/admin/members/{amy.id}").text
    assert '<div class="v" id="balance">¥487.50</div>' in page and "账本合计 ¥487.50" in page
    assert '<div class="v" id="coupons-available">2</div>' in page
    sv = page.split('id="stored-value"')[1].split("</table>")[0]
    assert "+500.00" in sv and "-12.50" in sv and "储值充值" in sv and "SHOP-7" in sv
    listed = page.split('id="coupons"')[1].split("</table>")[0]
    assert "10元代金券" in listed and "满50减10" in listed and listed.count("可使用") == 2
    assert "调整积分" not in page  # a viewer reads only


def test_operator_imports_a_csv_and_sees_the_report(console):
    b = logged_in(console, "otto", "operator")
    assert "导入会员（CSV）" in b.get("/admin/members").text
    b.get("/admin/members/import")
    res = b.post("/admin/members/import", files={"file": ("members.csv", CSV.encode("utf-8-sig"))})
    assert res.status_code == 200
    assert "已导入 2 行：新建会员 2，更新 0，未变 0，新增标签 1。" in res.text
    res = b.post("/admin/members/import", files={"file": ("members.csv", CSV.encode())})
    assert "新建会员 0，更新 0，未变 2，新增标签 0" in res.text  # the same file again
    with console.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Member)) == 2
        assert s.scalars(select(MemberTag.tag)).all() == ["VIP"]


def test_a_bad_csv_is_reported_and_changes_nothing(console):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/members/import")
    bad = "openid,birthday\noGood,\noBad,1990-02-30\n"
    res = b.post("/admin/members/import", files={"file": ("m.csv", bad.encode())})
    assert res.status_code == 400 and "1 行有错误，未导入任何数据" in res.text
    errors = res.text.split('id="import-errors"')[1]
    assert '<td class="num">3</td><td>生日须为 YYYY-MM-DD 的有效日期。</td>' in errors
    res = b.post("/admin/members/import", files={"file": ("m.csv", b"name\nx\n")})
    assert res.status_code == 200 and "第 1 行须为列名" in res.text
    res = b.post("/admin/members/import", {"skip_invalid": "1"},
                 files={"file": ("m.csv", bad.encode())})
    assert "已导入 1 行：新建会员 1" in res.text and "跳过错误行 1" in res.text
    with console.session() as s, s.read():
        assert s.scalars(select(Member.openid)).all() == ["oGood"]


def test_import_needs_csrf_and_the_operator_role(console):
    viewer = logged_in(console, "vic", "viewer")
    viewer.get("/admin/members/import")
    res = viewer.post("/admin/members/import", files={"file": ("m.csv", CSV.encode())})
    assert res.status_code == 403
    b = logged_in(console, "otto", "operator")
    b.get("/admin/members/import")
    res = b.post("/admin/members/import", csrf=False, files={"file": ("m.csv", CSV.encode())})
    assert res.status_code == 400
    with console.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(Member)) == 0
