"""A member's page: the name an operator gives (姓名) and stored-value corrections (储值更正),
both audited; operators and above, store-scoped accounts for their store's members (as
for points adjustments)."""
from __future__ import annotations

import secrets

from flask import flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from wx_member.console import member_admin
from wx_member.payments import balance_corrections
from wx_member.platform.errors import DomainError
from wx_member.web.admin import words
from wx_member.web.admin.blueprint import bp, scope


class NameForm(FlaskForm):
    name = StringField("姓名", validators=[Length(max=60)])


class BalanceForm(FlaskForm):
    amount = StringField("更正金额（元，负数为扣减）", validators=[DataRequired(), Length(max=16)])
    note = StringField("更正理由（必填）", validators=[DataRequired(), Length(max=80)])
    key = HiddenField()  # one per rendered form: a double submit corrects once


def forms(name: str | None) -> dict:
    """The forms the member page renders (members.member_detail)."""
    return {"name_form": NameForm(formdata=None, name=name or ""),
            "balance_form": BalanceForm(formdata=None, key=secrets.token_hex(16)),
            "balance_confirm_yuan": balance_corrections.CONFIRM_ABOVE_FEN // 100}


def signed_fen(text: str) -> int:
    """A correction typed in yuan, with its sign (-12.50 takes ¥12.50) as fen."""
    text = text.strip().replace("－", "-").replace("＋", "+")
    sign = -1 if text.startswith("-") else 1
    return sign * words.parse_yuan(text.lstrip("+-"))


@bp.route("/members/<int:member_id>/name", methods=["POST"])
def member_name(member_id: int):
    form = NameForm()
    if not form.validate():
        flash("姓名最多 30 个字。", "error")
    else:
        try:
            changed = member_admin.set_name(g.db, member_id, form.name.data or "",
                                            g.operator.username, store_id=scope())
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash("姓名已保存。" if changed else "姓名未改变。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))


@bp.route("/members/<int:member_id>/balance", methods=["POST"])
def member_balance(member_id: int):
    form = BalanceForm()
    if not form.validate():
        flash("请填写更正金额（元）和原因。", "error")
    else:
        try:
            fen = signed_fen(form.amount.data)
            entry = balance_corrections.correct(g.db, member_id, fen, form.note.data,
                                                form.key.data or "", g.operator.username,
                                                store_id=scope())
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"储值已更正 {fen / 100:+.2f} 元。" if entry
                  else "该更正已提交过，未重复执行。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))
