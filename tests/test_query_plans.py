"""Every statement a request sends reads only its caller's own rows.

Two reads of the mini-program (我的优惠券 and 到店买单's quote) once walked every usable
coupon of the programme on each request, and 邀请有礼 and the console's member page walked
the member table and the audit log (migrations 0038-0040). Each had tests of what it
answered and none of how; the coupon reads served 100,000 members at 1% of the bare
endpoint.

This test takes one member through the paths that run per request, as WeChat, the
mini-program, a till and an operator send them: the join by a store's QR code and a
referral join, a second scan, the menu's clicks, WeChat's reports on template and mass
sends, a message, a location, an unsubscribe and a return, the mini-program's pages,
到店买单 by WeChat Pay with its notify, a recharge, a gift for points, a till's identify,
quote, order and refund, the console's member page. It records every statement the app
sends (the engine's `before_cursor_execute`) and asks SQLite for each one's plan. A plan may
walk (SCAN) only a configuration table operators fill (stores, gifts, rules: tens of
rows). A table that grows with members or activity must be searched, and first by a
column that picks out the caller's own rows (an id, an openid, a member, an order
number), never by a value many rows share (a status, a kind, a time). A table not named
in CONFIGURATION counts as growing, so a new one is checked from its first query.

SQLite only: the app never runs ANALYZE, so SQLite plans from the schema alone and
production gets these plans. MariaDB's plans depend on table statistics;
tests/test_lookup_indexes.py seeds them and checks the lookups it names.
"""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import event

from api_helpers import ApiClient, add_gift, give_points, member_code
from console_helpers import Browser, add_operator
from till_helpers import Till, issue_key, open_store
from wx_member import migrate
from wx_member.coupons import wallet
from wx_member.db import make_engine
from wx_member.members import channels, membership
from wxpay_helpers import console_shop, merchant_cert, mini_sandbox  # noqa: F401

# Tables an operator fills by hand, a few to a few hundred rows: walking them is cheaper
# than an index. Everything else grows with members, orders or events.
CONFIGURATION = frozenset({
    "setting", "store", "channel", "gift", "gift_image", "earn_rule", "member_day",
    "coupon_template", "coupon_template_store", "tier_discount", "member_price",
    "paid_tier", "membership_product", "recharge_option", "operator", "till_key",
    "push_word", "template_word", "menu", "tag_rule",
})
# Values many rows share: a search that starts with one of them reads all its sharers.
SHARED = frozenset({
    "status", "kind", "action", "reason", "source", "tier", "subscribed", "active",
    "store_id", "channel_id", "template_id", "created_at", "at", "joined_at",
    "expires_at", "valid_until", "paid_at", "sent_at", "due_at",
})
_STEP = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (AUTOMATIC )?(?:PARTIAL )?"
                   r"(?:COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)(?: \w+)?)?"
                   r"(?: \(([^)]*)\))?")


def walks(detail: str) -> str | None:
    """Why one line of EXPLAIN QUERY PLAN reads rows that are not the caller's, or None."""
    step = _STEP.match(detail)
    if not step or step[2] == "CONSTANT" or step[2] in CONFIGURATION:
        return None
    if step[1] == "SCAN" or step[3]:  # an automatic index is built by walking the table
        return f"walks all of {step[2]}"
    first = (step[4] or "").split(" AND ")[0]
    column = re.split(r"[=<>]", first)[0].strip()
    if not column or column in SHARED:
        return f"searches {step[2]} by {column or 'nothing'} first: every row sharing it"
    return None


@pytest.mark.parametrize("detail, verdict", [
    ("SCAN member", "walks all of member"),
    ("SEARCH qr_scan USING AUTOMATIC COVERING INDEX (openid=?)", "walks all of qr_scan"),
    ("SCAN coupon USING INDEX ix_coupon_member_status_until", "walks all of coupon"),
    ("SEARCH coupon USING INDEX ix_coupon_status_until (status=? AND valid_until>?)",
     "searches coupon by status first: every row sharing it"),
    ("SEARCH points_ledger USING INDEX ix_x (created_at>?)",
     "searches points_ledger by created_at first: every row sharing it"),
    ("SEARCH coupon USING INDEX ix_coupon_member_status_until (member_id=? AND status=?)",
     None),
    ("SEARCH member USING INTEGER PRIMARY KEY (rowid=?)", None),
    ("SCAN store", None),
    ("SCAN CONSTANT ROW", None),
    ("USE TEMP B-TREE FOR ORDER BY", None),
])
def test_what_counts_as_a_walk(detail, verdict):
    assert walks(detail) == verdict


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'plans.db'}"


class Recorder:
    """The statements the app's engine sends while `doing` names a path, each once."""

    def __init__(self, engine):
        self.doing: str | None = None
        self.sent: dict[str, tuple[str, tuple]] = {}
        event.listen(engine, "before_cursor_execute", self._sent)

    def _sent(self, conn, cursor, statement, parameters, context, executemany):
        if self.doing and not executemany:
            self.sent.setdefault(statement, (self.doing, parameters))

    def paths(self) -> set[str]:
        return {doing for doing, _ in self.sent.values()}


def _walks(url: str, sent) -> list[str]:
    """What each statement's plan walks, on a new connection (one that planned before
    would still plan on the schema it read then)."""
    found, engine = [], make_engine(url)
    with engine.connect() as conn:
        for statement, (doing, parameters) in sent.items():
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE",
                                                         "INSERT", "WITH")):
                continue
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            found += [f"{doing}: {why}\n    {' '.join(statement.split())[:240]}"
                      for why in filter(None, (walks(row[-1]) for row in plan))]
    engine.dispose()
    return found


def _ok(res, *codes):
    status = getattr(res, "status_code", None) or res.status
    assert status in (codes or (200,)), getattr(res, "text", getattr(res, "body", ""))
    return res


def _walk_one_member_through_the_shop(live, sandbox, rec: Recorder) -> None:
    shop, sim = ApiClient(live, sandbox), live.simulator()
    open_store(live, "S01", "静安店")
    till = Till(live, issue_key(live, "S01", "1号").key)
    with live.session() as uow:
        channels.create(uow, live.rt.gateway, scene="store_S01", name="静安店", kind="store")
    add_operator(live, "root", "admin")
    gift = add_gift(live, "会员马克杯", 80, 3)
    for i in range(3):  # others in each table, so a walk has rows to walk
        _ok(sim.subscribe(f"oOther{i}", scene="store_S01"))

    rec.doing = "join by a store's QR code"
    assert "会员卡号" in _ok(sim.subscribe("oAnna", scene="store_S01")).reply["Content"]
    anna = shop.login("mAnna")  # the mini-program's openid: another app, another id
    rec.doing = "referral join"
    _ok(sim.subscribe("oBen", scene=f"ref_{anna.card_no}"))
    rec.doing = "scan again, menu clicks"
    _ok(sim.scan("oAnna", scene="store_S01"))
    for key in ("CARD", "POINTS", "CHECKIN"):
        _ok(sim.click("oAnna", key))

    rec.doing = "WeChat's other events"  # each push's report arrives as one of these
    for res in (sim.template_finished("oAnna", 1000001), sim.mass_finished("oAnna", 1000002),
                sim.subscribe_notice("oAnna", {"tmpl-1": "accept"}), sim.text("oAnna", "你好"),
                sim.location("oAnna"), sim.view("oAnna", "https://example.com/"),
                sim.unsubscribe("oOther0"), sim.subscribe("oOther0")):
        _ok(res)

    rec.doing = None
    give_points(live, anna.card_no, 3000, "seed:anna")
    with live.session() as uow:
        code = wallet.issue(uow, anna.card_no, 2, "seed:anna", by="test").code
    rec.doing = "mini-program pages"
    for path in ("me/card", "me/points", "me/tiers", "me/coupons", "me/coupons?status=used",
                 f"me/coupons/{code}", "me/referral/code", "me/referral/results", "me/balance",
                 "recharge/options", "me/profile", "me/memberships", "gifts", "me/redemptions",
                 "stores", "stores/S01/checkout?amount_fen=10000",
                 f"stores/S01/checkout?amount_fen=10000&coupon={code}&points=1000"):
        _ok(shop.get(path, anna))
    rec.doing = "a gift for points"
    _ok(shop.post("me/redemptions", anna, json={"gift_id": gift},
                  headers={"Idempotency-Key": str(uuid.uuid4())}), 200, 201)
    rec.doing = "到店买单 by WeChat Pay"
    res = _ok(shop.post("me/store-payments", anna, json={
        "store_code": "S01", "amount_fen": 5000, "pay_with": "wechat", "coupon": code},
        headers={"Idempotency-Key": str(uuid.uuid4())}), 200, 201)
    no = res.json()["payment"]["out_trade_no"]
    _ok(sandbox.merchant.pay(no), 204)
    _ok(sandbox.merchant.renotify(no), 204)  # WeChat Pay's retry
    assert _ok(shop.get(f"me/store-payments/{no}", anna)).json()["payment"]["status"] == "paid"
    rec.doing = "a recharge"
    res = _ok(shop.post("me/recharges", anna, json={"option_fen": 50000}), 201)
    _ok(sandbox.merchant.pay(res.json()["order"]["out_trade_no"]), 204)

    rec.doing = "a till's identify, quote, order and refund"
    basket = {"member": {"code": member_code(shop, anna)}, "points": 500, "lines": [
        {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}]}
    _ok(till.identify(code=basket["member"]["code"]))
    _ok(till.post("quote", json=basket))
    _ok(till.post("orders", json={**basket, "order_no": "1001", "payments": [
        {"method": "cash", "amount_fen": 5500}]}))
    _ok(till.post("orders/1001/refunds", json={"refund_no": "R1", "amount_fen": 100}))

    rec.doing = "the console's member page"
    browser = Browser(live)
    _ok(browser.login("root"), 302)
    with live.session() as s, s.read():
        anna_id = membership.by_card(s, anna.card_no).id
    assert anna.card_no in _ok(browser.get(f"/admin/members/{anna_id}")).text
    rec.doing = None


def test_no_request_walks_a_table_that_grows(console_shop, mini_sandbox):  # noqa: F811
    rec = Recorder(console_shop.rt.engine)
    _walk_one_member_through_the_shop(console_shop, mini_sandbox, rec)
    assert len(rec.paths()) == 10  # every path sent statements
    assert _walks(console_shop.config.database_url, rec.sent) == []

    # On the schema before migrations 0038-0041 the guard finds the walks they mended.
    migrate.downgrade(console_shop.config.database_url, "0037_wechat_untag")
    found = "\n".join(_walks(console_shop.config.database_url, rec.sent))
    assert "mini-program pages: searches coupon by status first" in found  # 我的优惠券, quote
    assert "mini-program pages: walks all of member" in found  # 邀请有礼's referees
    assert "the console's member page: walks all of audit_log" in found  # newest first
    assert "a recharge: searches jsapi_order by status first" in found  # a second tap
