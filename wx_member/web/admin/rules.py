"""Programme rules (the `setting` table) and the audit log. Admins change rules; every
change is audited and used by the next event, without a restart.

Operators read and type rules in their words: each rule by its Chinese label, word-valued
rules as a choice of Chinese words, money in yuan (stored in fen), coupon templates by
name. `words.setting_text` says a stored value the same way everywhere."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from wx_member import labels
from wx_member.coupons import templates
from wx_member.platform import audit
from wx_member.platform import settings
from wx_member.platform import settings_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin import tiers as tier_rules, words
from wx_member.web.admin.blueprint import bp
from wx_member.web.admin.auth import requires


@bp.route("/rules")
def rules():
    values = settings_view.current(g.db)
    coupons = [(0, "不送")] + [(t.id, f"{t.name}（{templates.describe(t)}）")
                               for t in templates.issuing(g.db)]
    rows = []
    for key, value in values.items():
        if key in tier_rules.KEYS:  # on the tiers screen (会员等级), linked from the page
            continue
        label, unit = labels.SETTINGS.get(key, (key, ""))
        if key in labels.SETTING_CHOICES:
            choices = list(labels.SETTING_CHOICES[key].items())
        elif key.endswith("_coupon_template"):
            choices = coupons if any(v == value for v, _ in coupons) else coupons + [
                (value, words.setting_text(g.db, key, value))]
        else:
            choices = None
        rows.append({"key": key, "label": label, "unit": unit, "choices": choices,
                     "value": value, "input": words.setting_input(key, value),
                     "text": words.setting_text(g.db, key, value),
                     "default": words.setting_text(g.db, key, settings.DEFAULTS[key])})
    changes = [(a, words.setting_label(a.target), words.setting_text(g.db, a.target, a.before),
                words.setting_text(g.db, a.target, a.after))
               for a in audit.recent(g.db, 30, action_prefix="setting.")]
    return render_template("admin/rules.html", rows=rows, csrf_form=FlaskForm(),
                           changes=changes)


@bp.route("/rules", methods=["POST"])
@requires("admin")
def rule_change():
    key, raw = request.form.get("key", ""), request.form.get("value", "").strip()
    label = words.setting_label(key)
    try:
        value = words.parse_setting(key, raw)
    except DomainError as exc:
        flash(f"{label}：{exc.user_message}", "error")
        return redirect(url_for("admin.rules"))
    try:
        settings.change(g.db, key, value, g.operator.username)
    except DomainError as exc:
        flash(f"{label}：{exc.user_message}", "error")
    else:
        flash(f"{label} 已改为 {words.setting_text(g.db, key, value)}，立即生效。", "ok")
    return redirect(url_for("admin.rules"))


@bp.route("/audit")
def audit_list():
    prefix = request.args.get("action", "")
    return render_template("admin/audit.html", prefix=prefix,
                           entries=audit.recent(g.db, 200, action_prefix=prefix or None))
