"""偏好标签: tag rules (拿铁爱好者 = at least 3 purchases of 拿铁 within 90 days, or of one
SKU), listed with how many members hold each tag; added and stopped by operators, run now
by an admin (the scheduler runs them daily at 01:00). Headquarters only; audited by the use
cases (console/tag_rules.py)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.console import tag_rules, tag_rules_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp


def _whole(text: str, message: str) -> int:
    text = (text or "").strip()
    if not text.isdigit():
        raise tag_rules.InvalidTagRule(f"not a whole number {text!r}", user_message=message)
    return int(text)


@bp.route("/tag-rules")
def tag_rules_page():
    return render_template("admin/tag_rules.html", rules=tag_rules_view.listed(g.db),
                           kinds=labels.TAG_RULE_KINDS)


@bp.route("/tag-rules", methods=["POST"])
def tag_rule_add():
    form = request.form
    try:
        rule = tag_rules.add(g.db, form.get("tag", ""), form.get("kind", ""),
                             form.get("value", ""),
                             _whole(form.get("min_purchases", ""), "购买次数须为 1–1000。"),
                             _whole(form.get("within_days", ""), "天数须为 1–3650。"),
                             g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"标签规则已添加：{tag_rules.describe(rule)}。每天 01:00 自动打标签，也可点“立即运行”。", "ok")
    return redirect(url_for("admin.tag_rules_page"))


@bp.route("/tag-rules/<int:rule_id>/disable", methods=["POST"])
def tag_rule_disable(rule_id: int):
    rule = tag_rules.disable(g.db, rule_id, g.operator.username)
    flash(f"标签规则「{rule.tag}」已停用；该规则打上的标签将在下次运行时移除。", "ok")
    return redirect(url_for("admin.tag_rules_page"))


@bp.route("/tag-rules/run", methods=["POST"])
@requires("admin")
def tag_rules_run():
    done = tag_rules.run(g.db)
    flash("已按规则更新标签：" + ("；".join(f"{t.tag} 新增 {t.added} 人、移除 {t.removed} 人"
                                     for t in done) or "没有规则") + "。", "ok")
    return redirect(url_for("admin.tag_rules_page"))
