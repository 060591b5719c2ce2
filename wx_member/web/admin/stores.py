"""Stores (门店): the list, opening one, editing or closing it, its tills' keys (issued
and shown once, revoked) and its 到店买单: the mini-program page a printed code opens, and
what members paid the store there in the last 24 hours. Headquarters admins create, edit and close stores; a store's
keys are issued and revoked by headquarters operators or by that store's manager; a store
account sees its own store only (`scope()`), in the use cases' queries."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from wx_member import labels
from wx_member.clock import to_local
from wx_member.extensions import runtime
from wx_member.members import stores
from wx_member.payments import store_payments_view, till_keys
from wx_member.platform.errors import DomainError
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp, forbidden, scope


class StoreForm(FlaskForm):
    code = StringField("门店编号（字母、数字、_、-）", validators=[DataRequired(), Length(max=20)])
    name = StringField("门店名称", validators=[DataRequired(), Length(max=100)])
    city = StringField("城市", validators=[Length(max=40)])
    address = StringField("地址", validators=[Length(max=200)])


class StoreEditForm(FlaskForm):
    name = StringField("门店名称", validators=[DataRequired(), Length(max=100)])
    city = StringField("城市", validators=[Length(max=40)])
    address = StringField("地址", validators=[Length(max=200)])
    status = SelectField("状态", choices=[SelectChoice(k, v)
                                        for k, v in labels.STORE_STATUS.items()])


class KeyForm(FlaskForm):
    label = StringField("收银台名称（如 1号收银台）", validators=[Length(max=40)])


def _local(at) -> str:
    return to_local(at, runtime().config.tz).strftime("%Y-%m-%d %H:%M") if at else "—"


def _hq_admin() -> bool:
    return scope() is None and g.operator.role == "admin"


@bp.route("/stores", methods=["GET", "POST"])
def store_list():
    form = StoreForm(prefix="new")
    if request.method == "POST":
        if not _hq_admin():
            return forbidden()
        if form.validate_on_submit():
            try:
                store = stores.create(g.db, form.code.data, form.name.data, form.city.data,
                                      form.address.data, by=g.operator.username)
            except DomainError as exc:
                flash(exc.user_message, "error")
            else:
                flash(f"门店 {store.code} 已创建。", "ok")
                return redirect(url_for("admin.store_detail", code=store.code))
        else:
            flash("请填写门店编号和名称。", "error")
    return render_template("admin/stores.html", rows=stores.all_stores(g.db, store_id=scope()),
                           form=form, hq_admin=_hq_admin())


def _page(code: str, issued=None, status: int = 200):
    found = stores.all_stores(g.db, store_id=scope())
    row = next((r for r in found if r.code == code), None)
    if row is None:  # unknown, or another store's for a store account: the same answer
        raise stores.UnknownStore(f"no store {code!r} in scope")
    edit = StoreEditForm(prefix="edit", formdata=None, name=row.name, city=row.city,
                         address=row.address, status=row.status)
    return render_template("admin/store.html", s=row, edit=edit, key_form=KeyForm(prefix="key"),
                           keys=till_keys.keys(g.db, store_id=row.id), issued=issued,
                           self_payments=store_payments_view.paid_at_store(g.db, row.id),
                           pay_with=labels.PAY_WITH,
                           local=_local, hq_admin=_hq_admin(), csrf_form=FlaskForm()), status


@bp.route("/stores/<code>")
def store_detail(code: str):
    return _page(code)


@bp.route("/stores/<code>/edit", methods=["POST"])
@requires("admin")
def store_edit(code: str):
    form = StoreEditForm(prefix="edit")
    if not form.validate():
        flash("请填写门店名称。", "error")
    else:
        store = stores.edit(g.db, code, g.operator.username, name=form.name.data,
                            city=form.city.data, address=form.address.data,
                            status=form.status.data)
        flash(f"门店 {store.code} 已保存（{labels.STORE_STATUS[store.status]}）。", "ok")
    return redirect(url_for("admin.store_detail", code=code))


@bp.route("/stores/<code>/keys", methods=["POST"])
def till_key_issue(code: str):
    """Issue a key and show it on this answer only: never put in a redirect, the flash
    cookie or a log."""
    form = KeyForm(prefix="key")
    if not form.validate():
        flash("收银台名称最多 40 个字符。", "error")
        return redirect(url_for("admin.store_detail", code=code))
    issued = till_keys.issue(g.db, code, form.label.data or "", by=g.operator.username,
                             scope_store_id=scope())
    return _page(code, issued=issued, status=201)


@bp.route("/stores/<code>/keys/<int:key_id>/revoke", methods=["POST"])
def till_key_revoke(code: str, key_id: int):
    row = till_keys.revoke(g.db, key_id, by=g.operator.username, scope_store_id=scope())
    flash(f"收银台密钥 {row.prefix}… 已停用。", "ok")
    return redirect(url_for("admin.store_detail", code=row.store_code))
