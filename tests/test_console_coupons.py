"""Coupon templates in the console: created in yuan, listed with what they issued, edited
while no member holds one, stopped; one coupon issued to a member picked by card or phone,
and voided; every change audited."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401
from helpers import member

from wx_member.models import AuditLog, Coupon, CouponTemplate, Member


def _template(console, name):
    with console.session() as s, s.read():
        return s.query(CouponTemplate).filter_by(name=name).one()


def test_operator_creates_edits_issues_voids_and_stops_a_template(console):
    console.simulator().subscribe("oCou")
    m = member(console, "oCou")
    with console.session() as s, s.begin():
        s.get(Member, m.id).phone = "13511112222"
    b = logged_in(console, "ops", "operator")
    assert "满50减10" in b.get("/admin/coupons").text  # the seeded templates, by their terms
    form = {"name": "店庆券", "kind": "amount_off", "min_spend": "100", "amount_off": "15",
            "valid_days": "30"}
    res = b.post("/admin/coupons", form)
    assert res.status_code == 302
    t = _template(console, "店庆券")
    assert (t.min_spend_fen, t.amount_off_fen, t.valid_days, t.active) == (10000, 1500, 30, True)
    page = b.get("/admin/coupons").text
    assert "券模板「店庆券」（满100减15）已创建" in page

    # Unused: can be corrected; a bad value is refused in Chinese and changes nothing.
    res = b.post(f"/admin/coupons/{t.id}", {**form, "amount_off": "abc"})
    assert res.status_code == 400 and "请按元填写金额" in res.text
    b.post(f"/admin/coupons/{t.id}", {**form, "amount_off": "20"})
    assert _template(console, "店庆券").amount_off_fen == 2000

    # Issued to a member picked by phone: then the template's terms are fixed.
    b.get("/admin/coupons")
    b.post("/admin/coupons/issue", {"member": "13511112222", "template_id": str(t.id),
                                    "note": "店庆", "key": "k" * 16})
    page = b.get("/admin/coupons").text
    assert "已发券，券码" in page
    with console.session() as s, s.read():
        coupon = s.query(Coupon).filter_by(template_id=t.id).one()
        assert coupon.member_id == m.id and coupon.status == "available"
    res = b.post(f"/admin/coupons/{t.id}", {**form, "amount_off": "30"})
    assert "已发出 1 张，不能再修改" in res.text
    assert _template(console, "店庆券").amount_off_fen == 2000
    b.post("/admin/coupons/issue", {"member": "13511112222", "template_id": str(t.id),
                                    "note": "店庆", "key": "k" * 16})  # the same form again
    assert "这张券已发过" in b.get("/admin/coupons").text

    b.post("/admin/coupons/void", {"code": coupon.code, "note": "发错了"})
    assert f"券 {coupon.code} 已作废" in b.get("/admin/coupons").text
    b.post(f"/admin/coupons/{t.id}/active", {"active": "0"})
    assert "已停止发放" in b.get("/admin/coupons").text
    with console.session() as s, s.read():
        assert not s.get(CouponTemplate, t.id).active
        actions = [a.action for a in s.query(AuditLog).order_by(AuditLog.id)
                   if a.action.startswith("coupon")]
    assert actions == ["coupon_template.create", "coupon_template.update", "coupon.issue",
                       "coupon.void", "coupon_template.disable"]
    audit = b.get("/admin/audit").text
    assert "内容：满100减15 → 满100减20" in audit and "停止发放券" in audit


def test_viewers_only_read_coupons(console):
    b = logged_in(console, "vic", "viewer")
    page = b.get("/admin/coupons").text
    assert "满50减10" in page and "新建券模板" not in page
    assert b.post("/admin/coupons", {"name": "x"}).status_code == 403


def test_a_coupon_goes_to_a_member_picked_by_name_unless_several_share_it(console):
    sim = console.simulator()
    for openid in ("oLi1", "oLi2", "oWang"):
        sim.subscribe(openid)
    li1, li2, wang = (member(console, o) for o in ("oLi1", "oLi2", "oWang"))
    with console.session() as s, s.begin():
        s.get(Member, li1.id).name = "李雷"
        s.get(Member, li2.id).name = "李雷"
        s.get(Member, wang.id).name = "Wang Fang"
    t = _template(console, "满50减10")
    b = logged_in(console, "ops", "operator")
    assert "会员卡号、手机号或姓名" in b.get("/admin/coupons").text

    # A whole name only one member has (any case, extra spaces): that member gets it.
    b.post("/admin/coupons/issue", {"member": " wang  fang ", "template_id": str(t.id),
                                    "key": "n" * 16})
    assert "已发券，券码" in b.get("/admin/coupons").text
    # A shared name picks no one: the answer lists the cards to choose from.
    b.post("/admin/coupons/issue", {"member": "李雷", "template_id": str(t.id), "key": "m" * 16})
    page = b.get("/admin/coupons").text
    assert "姓名为「李雷」的会员不止一位" in page
    assert li1.card_no in page and li2.card_no in page and "请填写卡号或手机号" in page
    # Part of a name is not a pick (the search page finds by part of a name).
    b.post("/admin/coupons/issue", {"member": "Wang", "template_id": str(t.id), "key": "p" * 16})
    assert "找不到卡号、手机号或姓名为 Wang 的会员" in b.get("/admin/coupons").text
    with console.session() as s, s.read():
        holders = [c.member_id for c in s.query(Coupon).filter_by(template_id=t.id)]
    assert holders == [wang.id]


def test_a_coupon_is_voided_from_the_members_page_without_typing_its_code(console):
    console.simulator().subscribe("oVoid")
    m = member(console, "oVoid")
    b = logged_in(console, "ops", "operator")
    b.get("/admin/coupons")
    b.post("/admin/coupons/issue", {"member": m.card_no, "template_id": "2", "key": "v" * 16})
    with console.session() as s, s.read():
        code = s.query(Coupon).filter_by(member_id=m.id, template_id=2).one().code
    page = b.get(f"/admin/members/{m.id}").text
    row = page.split(f'id="coupon-{code}"')[1].split("</tr>")[0]
    assert f"确认作废券 {code}" in row  # asked first

    b.post("/admin/coupons/void", {"code": code, "member_id": str(m.id), "note": ""})
    assert "请填写作废原因" in b.get(f"/admin/members/{m.id}").text  # refused, back on the page
    res = b.post("/admin/coupons/void", {"code": code, "member_id": str(m.id), "note": "发错了"})
    assert res.headers["location"].endswith(f"/admin/members/{m.id}#coupons")
    page = b.get(f"/admin/members/{m.id}").text
    row = page.split(f'id="coupon-{code}"')[1].split("</tr>")[0]
    assert f"券 {code} 已作废" in page and "已作废" in row and "作废</button>" not in row
    v = logged_in(console, "vic", "viewer")
    assert "作废</button>" not in v.get(f"/admin/members/{m.id}").text  # viewers only read
