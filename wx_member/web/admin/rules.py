"""Programme rules (the `setting` table) and the audit log. Admins change rules; every
change is audited and used by the next event, without a restart."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from wx_member import labels
from wx_member.platform import audit
from wx_member.platform import settings
from wx_member.platform import settings_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp
from wx_member.web.admin.auth import requires


@bp.route("/rules")
def rules():
    values = settings_view.current(g.db)
    rows = [(key, *labels.SETTINGS.get(key, (key, "")), value, settings.DEFAULTS[key])
            for key, value in values.items()]
    return render_template("admin/rules.html", rows=rows, csrf_form=FlaskForm(),
                           changes=audit.recent(g.db, 30, action_prefix="setting."))


@bp.route("/rules", methods=["POST"])
@requires("admin")
def rule_change():
    key, raw = request.form.get("key", ""), request.form.get("value", "").strip()
    try:
        value = settings.parse(key, raw)  # a number, or a word for the few word-valued rules
    except DomainError:
        hint = "、".join(settings.CHOICES[key]) if key in settings.CHOICES else "非负整数"
        flash(f"{labels.SETTINGS.get(key, (key,))[0]}：请填写{hint}。", "error")
        return redirect(url_for("admin.rules"))
    try:
        settings.change(g.db, key, value, g.operator.username)
    except DomainError as exc:
        flash(f"{labels.SETTINGS.get(key, (key,))[0]}：{exc.user_message}", "error")
    else:
        flash(f"{labels.SETTINGS.get(key, (key,))[0]} 已改为 {value}，立即生效。", "ok")
    return redirect(url_for("admin.rules"))


@bp.route("/audit")
def audit_list():
    prefix = request.args.get("action", "")
    return render_template("admin/audit.html", prefix=prefix,
                           entries=audit.recent(g.db, 200, action_prefix=prefix or None))
