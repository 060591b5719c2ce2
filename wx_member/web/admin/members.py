"""Members: search, profile, manual points adjustment, tags, CSV export."""
from __future__ import annotations

import csv
import io
import json
import secrets

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from wx_member.console import member_admin
from wx_member.extensions import runtime
from wx_member.members import member_import
from wx_member.members import privacy
from wx_member.pushes import fulfilment
from wx_member.web.admin.auth import requires
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp

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
    found = member_admin.search(g.db, q, tag)
    return render_template("admin/members.html", q=q, tag=tag, members=found,
                           hint=member_admin.check_digit_hint(q),
                           tags=member_admin.all_tags(g.db), csrf_form=FlaskForm())


@bp.route("/members/<int:member_id>")
def member_detail(member_id: int):
    try:
        data = member_admin.profile(g.db, member_id)
    except DomainError as exc:
        return render_template("admin/error.html", title="会员", message=exc.user_message), 404
    adjust = AdjustForm(formdata=None, key=secrets.token_hex(16))
    return render_template("admin/member.html", m=data, adjust=adjust, tag_form=TagForm(),
                           csrf_form=FlaskForm())


@bp.route("/members/<int:member_id>/points", methods=["POST"])
def member_adjust(member_id: int):
    form = AdjustForm()
    if not form.validate():
        flash("请填写调整数量（整数）和原因。", "error")
    else:
        try:
            entry = member_admin.adjust_points(g.db, member_id, form.delta.data, form.note.data,
                                               form.key.data or "", g.operator.username)
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
            member_admin.remove_tag(g.db, member_id, request.form["remove"], g.operator.username)
        elif form.validate():
            member_admin.add_tag(g.db, member_id, form.tag.data, g.operator.username)
        else:
            flash("请填写标签。", "error")
    except DomainError as exc:
        flash(exc.user_message, "error")
    return redirect(url_for("admin.member_detail", member_id=member_id))


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula is run by spreadsheet programs: make it text.
    return "'" + text if text.startswith(FORMULA_START) else text


@bp.route("/members/export", methods=["POST"])
def member_export():
    tag = request.form.get("tag", "").strip()
    member_admin.record_export(g.db, g.operator.username, tag)
    # The response streams after the request's teardown has closed its unit of work: a
    # closed one holds nothing and begins again, and export_rows reads batch by batch,
    # each in a transaction of its own.
    uow, tz = g.db, runtime().config.tz

    def rows():
        buf = io.StringIO()
        writer = csv.writer(buf)
        yield "\ufeff"  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        for row in member_admin.export_rows(uow, tag, tz):
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
