"""Scheduled work run by hand (admins): where the pushes stand, plan one kind's pushes for
today and send what is due, the points expiry run (previewed first). The scheduler runs the
same use cases on its own; running them here early changes nothing twice (each is
idempotent: a delivery per occasion, an expiry per lot)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.extensions import runtime
from wx_member.loyalty import expiry_run
from wx_member.pushes import manual_runs, planners, status_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp


def _sent_text(stats) -> str:
    return "，".join(f"{labels.DELIVERY_STATUS.get(k, k)} {v}" for k, v in
                    sorted(stats.counts.items()) if v) or "没有到期的推送（或在免打扰时段）"


@bp.route("/jobs")
def jobs_page():
    counts: dict[str, dict[str, int]] = {}
    for kind, status, n in status_view.delivery_counts(g.db):
        counts.setdefault(kind, {})[status] = n
    rt = runtime()
    return render_template("admin/jobs.html", counts=counts, statuses=labels.DELIVERY_STATUS,
                           kinds=[k for k in rt.pushes if k in planners.PLANNERS])


@bp.route("/jobs/pushes", methods=["POST"])
@requires("admin")
def jobs_pushes():
    rt = runtime()
    kind = request.form.get("kind", "")
    try:  # audited by the use case: who ran which kind, with the counts
        done = manual_runs.run(g.db, rt.pushes, rt.gateway, rt.config, kind or None,
                               g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        planned = (f"今日计划新增 {done.planned.planned} 条（频次上限拦下 {done.planned.capped} 条）；"
                   if done.planned else "")
        flash(f"{planned}本次发送：{_sent_text(done.sent)}。", "ok")
    return redirect(url_for("admin.jobs_page"))


@bp.route("/jobs/expiry", methods=["POST"])
@requires("admin")
def jobs_expiry():
    preview = request.form.get("action") != "run"
    tz = runtime().config.tz
    # A preview writes nothing (not audited); the run is audited with its counts.
    r = (expiry_run.run(g.db, None, tz=tz, dry_run=True) if preview
         else expiry_run.run_by_hand(g.db, by=g.operator.username, tz=tz))
    flash(f"截至 {r.as_of} 日终：{'将过期' if preview else '已过期'} {r.members} 位会员的 "
          f"{r.points} 积分{'（预览，未执行）' if preview else ''}。", "ok")
    return redirect(url_for("admin.jobs_page"))
