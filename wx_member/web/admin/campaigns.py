"""Campaigns: by segment, scheduled, with progress; and a push kind's preview and dry run to
test openids. Routes parse the form, call one service, render."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.clock import local_day, local_text, utcnow
from wx_member.extensions import runtime
from wx_member.labels import tier_name
from wx_member.pushes import campaign_runs, campaigns, planners
from wx_member.members import channels, stores
from wx_member.coupons import templates
from wx_member.pushes import dry_runs
from wx_member.pushes import status_view
from wx_member.console import member_admin
from wx_member.insights import reach_view, segments
from wx_member.insights.kpis import MAX_DAYS, Period
from wx_member.loyalty import tiers
from wx_member.platform.errors import DomainError
from wx_member.web.admin import charts, words
from wx_member.web.admin.blueprint import bp


def _render(page: str, **values):
    return render_template(page, category_zh=labels.PUSH_CATEGORIES, channel_zh=labels.PUSH_CHANNELS,
                           status_zh=labels.CAMPAIGN_STATUS,
                           describe=segments.describe, **values)


@bp.route("/campaigns")
def campaigns_page():
    rt = runtime()
    kind = request.args.get("kind") or next(iter(rt.pushes), "")
    who = request.args.get("who", "")
    push = rt.pushes.get(kind)
    body, sample_member = (dry_runs.kind_preview(g.db, push, who, rt.config) if push
                           else (None, None))
    recent = campaigns.recent(g.db)
    plannable = push is not None and not push.disabled and kind in planners.PLANNERS
    # On request only: a forecast reads every targeted member.
    forecast = (planners.forecast(g.db, rt.pushes, kind, rt.config)
                if plannable and request.args.get("forecast") else None)
    return _render(
        "admin/campaigns.html", pushes=rt.pushes, kind=kind, push=push, who=who,
        plannable=plannable, forecast=forecast, reasons_zh=labels.REACH_REASONS,
        body=body,
        sample_member=sample_member, test_openids=", ".join(rt.config.push_test_openids),
        campaigns=recent, progress=campaigns.progress(g.db, recent))


def _spec(form) -> campaigns.CampaignSpec:
    when = form.get("scheduled_at", "").strip()
    try:
        local = datetime.fromisoformat(when) if when else None
    except ValueError:
        raise campaigns.InvalidCampaign(f"bad time {when!r}",
                                        user_message="发送时间格式无效。") from None
    template = form.get("coupon_template_id", "").strip()
    if template and not template.isdigit():
        raise campaigns.InvalidCampaign(f"bad template {template!r}",
                                        user_message="优惠券模板无效。")
    return campaigns.CampaignSpec(
        name=form.get("name", ""), kind=form.get("kind", ""), message=form.get("message", ""),
        segment={k: form.get(f"seg_{k}", "") for k in segments.KEYS},
        coupon_template_id=int(template) if template else None, scheduled_local=local)


def _form_page(preview=None, status=200):
    rt = runtime()
    return _render(
        "admin/campaign_new.html", f=request.form, preview=preview,
        body=preview.body if preview else None,
        kinds=campaigns.campaign_kinds(rt.pushes),
        tiers=[(t, tier_name(t)) for t in tiers.LADDER], tags=member_admin.all_tags(g.db),
        rfm_names=segments.rfm_names(), channel_choices=channels.choices(g.db),
        store_choices=[(s.code, s.name) for s in stores.all_stores(g.db)],
        templates=templates.issuing(g.db),
        describe_template=templates.describe), status


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    if request.method == "GET":
        return _form_page()
    rt = runtime()
    try:
        spec = _spec(request.form)
        if request.form.get("action") == "create":
            campaign = campaigns.create(g.db, rt.pushes, spec, rt.config, g.operator.username)
        else:
            return _form_page(campaigns.preview(g.db, rt.pushes, spec, rt.config))
    except DomainError as exc:
        flash(exc.user_message, "error")
        return _form_page(status=400)
    when = local_text(campaign.scheduled_at, rt.config.tz, "%Y-%m-%d %H:%M")
    flash(f"活动「{campaign.name}」已创建，将于 {when} 发送。",
          "ok")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>")
def campaign_detail(campaign_id: int):
    try:
        campaign = campaigns.get(g.db, campaign_id)
    except DomainError as exc:
        return render_template("admin/error.html", title="活动", message=exc.user_message), 404
    rt = runtime()
    template = (templates.by_id(g.db, campaign.coupon_template_id)
                if campaign.coupon_template_id else None)
    forecast = None
    if campaign.status == "scheduled" and campaign.kind in campaigns.campaign_kinds(rt.pushes):
        forecast = campaign_runs.forecast(g.db, rt.pushes, campaign.id, rt.config)
    reasons = [(labels.DELIVERY_STATUS.get(status, status), words.reason_text(error), n)
               for status, error, n in status_view.outcome_reasons(
                   g.db, campaign.kind, campaigns.occasion(campaign.id))]
    reach_time = _reach_time(campaign, rt.config.tz)
    return _render("admin/campaign.html", c=campaign, push=rt.pushes.get(campaign.kind),
                   reasons=reasons, reach_time=reach_time,
                   reach_time_chart=charts.reach(reach_time, "活动触达趋势"),
                   reach_time_caption="活动触达趋势",
                   p=campaigns.progress(g.db, [campaign])[campaign.id], template=template,
                   forecast=forecast, reasons_zh=labels.REACH_REASONS,
                   describe_template=templates.describe,
                   test_openids=", ".join(rt.config.push_test_openids))


def _reach_time(campaign, tz) -> list[reach_view.ReachPoint]:
    """The campaign's deliveries by the local day (or week) they were planned, from its
    scheduled day to today (at most MAX_DAYS)."""
    first = local_day(min(campaign.scheduled_at, campaign.started_at or campaign.scheduled_at), tz)
    last = max(first, local_day(utcnow(), tz))
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return reach_view.reach_over_time(g.db, Period(first, last, tz), kind=campaign.kind,
                                      occasion=campaigns.occasion(campaign.id))


@bp.route("/campaigns/<int:campaign_id>/cancel", methods=["POST"])
def campaign_cancel(campaign_id: int):
    try:
        campaigns.cancel(g.db, campaign_id, g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash("活动已取消，不会发送。", "ok")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id))


def _dry_run(push, campaign_id: int | None = None) -> None:
    rt = runtime()
    try:
        if push is None:
            raise campaigns.InvalidCampaign("unknown kind", user_message="请选择推送类型。")
        openids = dry_runs.parse_openids(member_admin.recipients(g.db, request.form.get("openids", "")))
        result, stats = dry_runs.dry_run(g.db, rt.gateway, push, openids, rt.config, rt.config.tz,
                                         g.operator.username, campaign_id=campaign_id)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        counts = "，".join(f"{labels.DELIVERY_STATUS.get(k, k)} {v}"
                          for k, v in sorted(stats.counts.items())) or "暂未发出（免打扰时段）"
        flash(f"试发 {result.planned} 条：{counts}。", "ok")


@bp.route("/campaigns/<int:campaign_id>/dry-run", methods=["POST"])
def campaign_dry_run_one(campaign_id: int):
    _dry_run(runtime().pushes.get(request.form.get("kind", "")), campaign_id)
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id))


@bp.route("/campaigns/dry-run", methods=["POST"])
def campaign_dry_run():
    kind = request.form.get("kind", "")
    _dry_run(runtime().pushes.get(kind))
    return redirect(url_for("admin.campaigns_page", kind=kind))
