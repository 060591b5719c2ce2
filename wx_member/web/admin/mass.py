"""群发 (headquarters' operators): the programme's tags and segments synced to WeChat as user
tags, a text or an image mass-sent to everyone with one of them (asked first, naming the tag
and its members), and the latest mass sends with WeChat's report. The same use cases as
`wx-member push sync-tags` and `push mass-tag`; each run from here is audited."""
from __future__ import annotations

import os

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.clock import local_now
from wx_member.extensions import runtime
from wx_member.platform.errors import DomainError
from wx_member.pushes import mass_sends, mass_view, tag_sends, wechat_tags
from wx_member.wechat.api_client import GatewayError
from wx_member.web.admin import words
from wx_member.web.admin.blueprint import bp


@bp.route("/mass")
def mass_page():
    data = mass_view.page(g.db)
    today = local_now(runtime().config.tz).strftime("%Y-%m-%d")
    chosen = request.args.get("tag", "")
    return render_template(
        "admin/mass.html", data=data, today=today, chosen=chosen,
        max_text=tag_sends.MAX_TEXT, status_zh=labels.MASS_STATUS,
        content_zh=labels.MASS_CONTENT, by_tag=labels.MASS_BY_TAG)


def _why(exc: DomainError) -> str:
    """WeChat's errcode in an operator's words, when WeChat gave one."""
    code = getattr(exc, "errcode", None)
    return f"（{words.reason_text(str(exc))}）" if code is not None else ""


def _sync_text(r: wechat_tags.TagSync) -> str:
    text = (f"已同步到微信：新建标签 {r.created} 个，打标签 {r.tagged} 人次，"
            f"取消标签 {r.untagged} 人次")
    if r.released:
        text += f"；为已删除个人信息的粉丝在微信取消标签 {r.released} 人次"
    if r.dropped:
        text += f"；{r.dropped} 人次无需取消（微信已无此粉丝）"
    if r.tags_left_out:
        text += f"；{r.tags_left_out} 个标签未能创建（公众号最多 {wechat_tags.MAX_TAGS} 个标签）"
    if r.over_limit:
        text += (f"；{r.over_limit} 人次未打标签（该粉丝已有 {wechat_tags.MAX_TAGS_PER_USER} "
                 f"个微信标签）")
    if r.not_following:
        text += f"；{r.not_following} 人次未打标签（微信已无此粉丝，可能已取消关注）"
    return text + "。"


def _budget() -> float:
    """Seconds a sync may take in this request: the console is served by the webhook's
    gunicorn, whose `timeout` (WX_GUNICORN_TIMEOUT, 6 s: WeChat's 5 s budget) kills a
    longer request, lease held; two seconds are kept for the last round and the answer."""
    return max(float(os.environ.get("WX_GUNICORN_TIMEOUT", "6")) - 2, 0.0)


@bp.route("/mass/sync", methods=["POST"])
def mass_sync():
    try:  # audited by the use case, also when WeChat stops it halfway
        r = wechat_tags.sync(g.db, runtime().gateway, segments=True, by=g.operator.username,
                             budget=_budget())
    except wechat_tags.SyncRunning as exc:
        flash(exc.user_message, "error")
    except DomainError as exc:
        flash(f"{exc.user_message}{_why(exc)}同步在中途停止：已完成的部分"
              f"已记录，再次点击「同步标签到微信」会从中断处继续。", "error")
    else:
        flash(_sync_text(r) + ("为免请求超时，本次先同步到这里：再次点击「同步标签到微信」继续。"
                               if r.unfinished else ""), "ok")
    return redirect(url_for("admin.mass_page"))


@bp.route("/mass/send", methods=["POST"])
def mass_send():
    f = request.form
    tag = f.get("tag", "")
    image = f.get("content") == "image"
    try:
        done = tag_sends.send(g.db, runtime().gateway, tag, f.get("text", ""),
                              f.get("occasion", ""), by=g.operator.username,
                              media_id=f.get("media_id", "") if image else None)
    except tag_sends.InvalidMassSend as exc:
        flash(f"未发送：{exc.user_message}", "error")
    except tag_sends.TagNotSynced as exc:
        flash(f"未发送：{exc.user_message}", "error")
    except GatewayError as exc:
        if mass_sends.refused(exc):  # nothing went out: the history shows it failed
            flash(f"微信拒绝了这次群发{_why(exc)}，没有发送。请检查后再发。", "error")
        else:  # no answer: it may have gone out; the same name calls again, sent once
            flash(f"{exc.user_message}{_why(exc)}未确认是否已发送：请稍后用同一群发名称再点一次"
                  f"「群发」，微信只会发送一次。", "error")
    else:
        job = done.job
        status = labels.MASS_STATUS.get(job.status, job.status)
        if done.sent_now:
            flash(f"已向标签「{tag}」群发「{job.occasion}」：{status}，msg_id {job.msg_id}。", "ok")
        elif job.status == "unknown":
            flash(f"群发名称「{job.occasion}」24 小时内没有得到微信的答复，可能已经发出；为免重复，"
                  f"不再发送。要再发，请换一个群发名称。", "error")
        else:
            flash(f"群发名称「{job.occasion}」已经发送过（{status}，msg_id {job.msg_id}），本次没有"
                  f"再发送。要再发一条，请换一个群发名称。", "error")
    return redirect(url_for("admin.mass_page"))
