"""Campaigns (first step): preview a push kind for a sample member, dry-run it to test
openids. Segments, scheduling and progress are not built yet."""
from __future__ import annotations

import json

from flask import flash, g, redirect, render_template, request, url_for

from wx_member.extensions import runtime
from wx_member.services import campaigns
from wx_member.services.errors import DomainError
from wx_member.web.admin import bp

CATEGORY_ZH = {"service": "服务通知", "marketing": "营销"}
CHANNEL_ZH = {"template": "模板消息", "subscribe": "小程序订阅消息", "custom": "客服消息（48 小时内）"}


@bp.route("/campaigns")
def campaigns_page():
    rt = runtime()
    kind = request.args.get("kind") or next(iter(rt.pushes), "")
    who = request.args.get("who", "")
    push = rt.pushes.get(kind)
    body, sample_member = (campaigns.preview(g.db, push, who, rt.config) if push else (None, None))
    return render_template(
        "admin/campaigns.html", pushes=rt.pushes, kind=kind, push=push, who=who,
        body=json.dumps(body, ensure_ascii=False, indent=2) if body else "",
        sample_member=sample_member, test_openids=", ".join(rt.config.push_test_openids),
        category_zh=CATEGORY_ZH, channel_zh=CHANNEL_ZH)


@bp.route("/campaigns/dry-run", methods=["POST"])
def campaign_dry_run():
    rt = runtime()
    kind = request.form.get("kind", "")
    push = rt.pushes.get(kind)
    try:
        if push is None:
            raise campaigns.InvalidCampaign(f"unknown kind {kind!r}", user_message="请选择推送类型。")
        openids = campaigns.parse_openids(request.form.get("openids", ""))
        result, stats = campaigns.dry_run(g.db, rt.gateway, push, openids, rt.config,
                                          rt.config.tz, g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        counts = "，".join(f"{k} {v}" for k, v in sorted(stats.counts.items())) or "暂未发出（免打扰时段）"
        flash(f"试发 {result.planned} 条（{result.occasions[0]}）：{counts}。", "ok")
    return redirect(url_for("admin.campaigns_page", kind=kind))
