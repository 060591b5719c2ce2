"""Members: search, profile, manual points adjustment, tags, CSV export, refunds of
recharges through WeChat Pay."""
from __future__ import annotations

import csv
import io
import json
import secrets

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from wx_member import labels
from wx_member.console import member_admin
from wx_member.extensions import runtime
from wx_member.members import cards, member_import, merging, privacy, stores, unmerging
from wx_member.payments import membership_products_view, recharge_refunds
from wx_member.pushes import fulfilment
from wx_member.platform.errors import DomainError
from wx_member.web.admin.auth import requires
from wx_member.web.admin import member_edits, words
from wx_member.web.admin.blueprint import bp, can, may, scope, store_filter

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AdjustForm(FlaskForm):
    delta = IntegerField("调整积分（负数为扣减）", validators=[InputRequired()])
    note = StringField("原因（必填）", validators=[DataRequired(), Length(max=80)])
    key = HiddenField()  # one per rendered form: a double submit adjusts once


class TagForm(FlaskForm):
    tag = StringField("标签", validators=[DataRequired(), Length(max=20)])


@bp.route("/members")
def member_search():
    q, tag = request.args.get("q", ""), request.args.get("tag", "")
    store = store_filter()
    found = member_admin.search(g.db, q, tag, store_id=store)
    return render_template("admin/members.html", q=q, tag=tag, members=found,
                           hint=member_admin.check_digit_hint(q),
                           tags=member_admin.all_tags(g.db, store_id=store),
                           csrf_form=FlaskForm(), store=store,
                           store_choices=stores.choices(g.db) if scope() is None else [])


@bp.route("/members/<int:member_id>")
def member_detail(member_id: int):
    try:
        data = member_admin.profile(g.db, member_id, store_id=scope(), duplicates=True)
    except DomainError as exc:
        return render_template("admin/error.html", title="会员", message=exc.user_message), 404
    adjust = AdjustForm(formdata=None, key=secrets.token_hex(16))
    return render_template("admin/member.html", m=data, adjust=adjust, tag_form=TagForm(),
                           **member_edits.forms(data["name"]),
                           csrf_form=FlaskForm(), refund_form=RechargeRefundForm(formdata=None),
                           store_choices=stores.choices(g.db) if scope() is None else [],
                           card_kinds=labels.CARD_KINDS,
                           merge_reasons=labels.MERGE_REASONS,
                           duplicate_reasons=labels.DUPLICATE_REASONS,
                           merge_status=labels.MERGE_STATUS,
                           paid=membership_products_view.purchases_of(g.db, data["id"]),
                           recharges=(recharge_refunds.refundable_of(g.db, data["id"])
                                      if may("admin.member_recharge_refund", "admin") else []),
                           paid_refund_status=labels.MEMBERSHIP_REFUND_STATUS)


@bp.route("/members/<int:member_id>/points", methods=["POST"])
def member_adjust(member_id: int):
    form = AdjustForm()
    if not form.validate():
        flash("请填写调整数量（整数）和原因。", "error")
    else:
        try:
            entry = member_admin.adjust_points(g.db, member_id, form.delta.data, form.note.data,
                                               form.key.data or "", g.operator.username,
                                               store_id=scope())
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash("积分已调整。" if entry else "该调整已提交过，未重复执行。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


@bp.route("/members/<int:member_id>/tags", methods=["POST"])
def member_tag(member_id: int):
    form = TagForm()
    try:
        if request.form.get("remove"):
            member_admin.remove_tag(g.db, member_id, request.form["remove"], g.operator.username,
                                    store_id=scope())
        elif form.validate():
            member_admin.add_tag(g.db, member_id, form.tag.data, g.operator.username,
                                 store_id=scope())
        else:
            flash("请填写标签。", "error")
    except DomainError as exc:
        flash(exc.user_message, "error")
    return redirect(url_for("admin.member_detail", member_id=member_id))


@bp.route("/members/<int:member_id>/home-store", methods=["POST"])
def member_home_store(member_id: int):
    """Headquarters moves a member to another home store (归属门店), audited."""
    code = request.form.get("store", "").strip() or None
    stores.set_home_store(g.db, member_id, code, g.operator.username, scope_store_id=scope())
    flash(f"归属门店已改为 {code}。" if code else "已清除归属门店。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


def _form_store() -> int | None:
    value = request.form.get("store", "")
    return int(value) if value.isdigit() else None


@bp.route("/members/<int:member_id>/card-lost", methods=["POST"])
def member_card_lost(member_id: int):
    """挂失补卡: block the member's card number and issue a new one (cards.report_lost)."""
    if not FlaskForm().validate():
        flash("表单已失效，请刷新后重试。", "error")
    else:
        try:
            done = cards.report_lost(g.db, member_id, g.operator.username)
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"卡号 {done.old_card_no} 已挂失，新卡号 {done.card_no}。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


@bp.route("/members/<int:member_id>/merge", methods=["POST"])
def member_merge(member_id: int):
    """Merge a duplicate (named by card number or openid) into this member."""
    if not FlaskForm().validate():
        flash("表单已失效，请刷新后重试。", "error")
    else:
        try:
            done = merging.merge_named(g.db, member_id, request.form.get("other", ""),
                                       g.operator.username)
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"已合并：积分 {done.points}、储值 ¥{done.balance_fen / 100:.2f} 等已转入本会员，"
                  "7 天内可撤销。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


@bp.route("/members/<int:member_id>/merges/<int:merge_id>/undo", methods=["POST"])
def member_unmerge(member_id: int, merge_id: int):
    if not FlaskForm().validate():
        flash("表单已失效，请刷新后重试。", "error")
    else:
        try:
            unmerging.undo(g.db, merge_id, g.operator.username)
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash("合并已撤销。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula is run by spreadsheet programs: make it text.
    return "'" + text if text.startswith(FORMULA_START) else text


@bp.route("/members/export", methods=["POST"])
def member_export():
    tag = request.form.get("tag", "").strip()
    store = scope() if scope() is not None else _form_store()
    member_admin.record_export(g.db, g.operator.username, tag, store_id=store)
    # The response streams after the request's teardown has closed its unit of work: a
    # closed one holds nothing and begins again, and export_rows reads batch by batch,
    # each in a transaction of its own.
    uow, tz = g.db, runtime().config.tz

    def rows():
        buf = io.StringIO()
        writer = csv.writer(buf)
        yield "\ufeff"  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        for row in member_admin.export_rows(uow, tag, store_id=store, tz=tz):
            writer.writerow([_cell(v) for v in row])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()

    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=members.csv"})


@bp.route("/members/import", methods=["GET", "POST"])
def member_import_page():
    report = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择要导入的 CSV 文件。", "error")
        else:
            try:
                report = member_import.import_file(g.db, upload.read(), g.operator.username,
                                                   skip_invalid=bool(request.form.get("skip_invalid")))
            except DomainError as exc:
                flash(exc.user_message, "error")
    return render_template("admin/member_import.html", report=report,
                           max_rows=member_import.MAX_ROWS), 400 if report and not report.imported else 200


class RechargeRefundForm(FlaskForm):
    out_trade_no = StringField("退款的充值", validators=[DataRequired(), Length(max=64)])
    amount = StringField("退款金额（元，留空为全部可退）", validators=[Length(max=16)])
    reason = StringField("退款原因", validators=[Length(max=80)])


@bp.route("/members/<int:member_id>/recharge-refund", methods=["POST"])
@requires("admin")
def member_recharge_refund(member_id: int):
    """A recharge back to the payer's WeChat (WeChat Pay): unspent part, bonus first."""
    form = RechargeRefundForm()
    client = runtime().wxpay
    if client is None:
        flash("未配置微信支付商户接口，无法原路退款。", "error")
    elif not form.validate():
        flash("请选择要退款的充值。", "error")
    else:
        try:
            amount = form.amount.data.strip()  # yuan (12.50), stored and sent as fen
            fen = words.parse_yuan(amount) if amount else None
            if fen == 0:
                raise recharge_refunds.RechargeRefundRefused(
                    "zero refund", user_message="退款金额须大于 0 元；留空为全部可退。")
            r = recharge_refunds.refund_recharge(
                g.db, client, form.out_trade_no.data.strip(), by=g.operator.username,
                amount_fen=fen, reason=form.reason.data or "")
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"已申请退款 {r.amount_fen / 100:.2f} 元（扣回赠送 {r.bonus_fen / 100:.2f} 元），"
                  f"等待微信支付退款结果。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


# ---- an order's fulfilment, a member's data rights -----------------------------------------

@bp.route("/members/<int:member_id>/orders/<out_trade_no>/ship", methods=["POST"])
def member_order_ship(member_id: int, out_trade_no: str):
    rt = runtime()
    result = fulfilment.mark_shipped(g.db, rt.pushes, rt.config, out_trade_no,
                                     request.form.get("carrier") or None,
                                     request.form.get("tracking_no") or None)
    flash(f"订单 {out_trade_no} 已标记发货" + ("，发货提醒已排队。" if result.reminder == "queued"
                                           else "。"), "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id) + "#orders")


@bp.route("/members/<int:member_id>/orders/<out_trade_no>/deliver", methods=["POST"])
def member_order_deliver(member_id: int, out_trade_no: str):
    fulfilment.mark_delivered(g.db, out_trade_no)
    flash(f"订单 {out_trade_no} 已标记签收。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id) + "#orders")


@bp.route("/members/<int:member_id>/export.json", methods=["POST"])
@requires("admin")
def member_data_export(member_id: int):
    """PIPL: everything held about the member, as a JSON file (recorded as a request)."""
    card = member_admin.profile(g.db, member_id, limit=1)["card_no"]
    data = privacy.export_member(g.db, card, by=g.operator.username,
                                 note=request.form.get("note") or None)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=member-{card}.json"})


@bp.route("/members/<int:member_id>/erase", methods=["POST"])
@requires("admin")
def member_erase(member_id: int):
    """PIPL: erase the member's personal data; ledgers and orders stay, anonymised."""
    card = member_admin.profile(g.db, member_id, limit=1)["card_no"]
    if request.form.get("confirm_card", "").strip() != card:
        flash("请输入该会员的卡号以确认删除。", "error")
    else:
        result = privacy.erase_member(g.db, card, by=g.operator.username,
                                      note=request.form.get("note") or None)
        flash(f"会员个人信息已删除：作废积分 {result.forfeited_points}，保留匿名订单 "
              f"{result.orders_kept} 笔。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))
