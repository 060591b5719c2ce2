"""储值: the recharge ladder (充500送50) the mini-program offers, in yuan; admins add,
change or withdraw a rung (audited; a bonus above the recharge is refused)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from wx_member.payments import balance_view, stored_value
from wx_member.platform.errors import DomainError
from wx_member.web.admin import words
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp


@bp.route("/stored-value")
def stored_value_page():
    return render_template("admin/stored_value.html", rungs=balance_view.recharge_choices(g.db))


@bp.route("/stored-value/options", methods=["POST"])
@requires("admin")
def recharge_option_set():
    try:
        amount = words.parse_yuan(request.form.get("amount", ""))
        bonus = words.parse_yuan(request.form.get("bonus", "") or "0")
        active = request.form.get("active", "1") == "1"
        option = stored_value.set_option(g.db, amount, bonus, g.operator.username, active=active)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"充值档位「{stored_value.option_text(option)}」已{'保存' if active else '停用'}，"
              "下一笔充值起生效。", "ok")
    return redirect(url_for("admin.stored_value_page"))
