"""Login, logout, operator accounts, and the `requires(role)` decorator."""
from __future__ import annotations

from functools import wraps

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from wx_member import labels
from wx_member.console import operators
from wx_member.members import stores
from wx_member.models.console import STORE_ROLES
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp, forbidden

ROLE_CHOICES = [SelectChoice(r, labels.OPERATOR_ROLES[r])
                for r in ("viewer", "operator", "admin", "clerk", "manager")]


def requires(role: str):
    def wrap(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not operators.role_at_least(g.operator.role, role):
                return forbidden()
            return view(*args, **kwargs)
        return checked
    return wrap


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


def _store_choices() -> list[SelectChoice]:
    """Stores by name (门店角色 pick one; HQ roles none), not a code typed by hand."""
    return [SelectChoice("", "总部（不属于门店）")] + [
        SelectChoice(code, f"{name}（{code}）") for _, code, name in stores.choices(g.db)]


class OperatorForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("初始密码", validators=[DataRequired(), Length(max=200)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    # An unknown code is the use case's refusal (in Chinese), not the form's.
    store = SelectField("所属门店（门店角色必选）", choices=_store_choices, validate_choice=False)


class OperatorUpdateForm(FlaskForm):
    role = SelectField("角色", choices=ROLE_CHOICES)
    store = SelectField("门店", choices=_store_choices, validate_choice=False)
    active = BooleanField("启用")
    password = PasswordField("新密码（留空不改）", validators=[Length(max=200)])


def _store_of(form) -> str | None:
    """The store field counts for store roles only (a role moved to HQ drops its store)."""
    if form.role.data not in STORE_ROLES:
        return None
    return (form.store.data or "").strip() or None


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an open redirect to another host.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            op = operators.authenticate(g.db, form.username.data, form.password.data,
                                        request.remote_addr or "?")
        except DomainError as exc:
            error = exc.user_message
        else:
            session.clear()  # a fresh session (and CSRF token) for the new identity
            session.permanent = True
            session["op"], session["gen"] = op.id, op.generation
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error = "请输入用户名和密码。"
    return render_template("admin/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("admin.login"))


@bp.route("/operators", methods=["GET", "POST"])
@requires("admin")
def operator_list():
    form = OperatorForm(prefix="new")
    if form.validate_on_submit():
        try:
            operators.create(g.db, form.username.data, form.password.data, form.role.data,
                             by=g.operator.username, store=_store_of(form))
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"已新增账号 {form.username.data}。", "ok")
            return redirect(url_for("admin.operator_list"))
    choices = stores.choices(g.db)
    return render_template("admin/operators.html", form=form,
                           operators=operators.all_operators(g.db),
                           update_form=OperatorUpdateForm,
                           store_codes={i: c for i, c, _ in choices},
                           store_names={i: f"{n}（{c}）" for i, c, n in choices})


@bp.route("/operators/<int:operator_id>", methods=["POST"])
@requires("admin")
def operator_update(operator_id: int):
    form = OperatorUpdateForm(prefix=f"op{operator_id}")
    if form.validate_on_submit():
        try:
            operators.update(g.db, operator_id, g.operator.username, role=form.role.data,
                             active=form.active.data, password=form.password.data or None,
                             store=_store_of(form))
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash("账号已更新。", "ok")
    return redirect(url_for("admin.operator_list"))
