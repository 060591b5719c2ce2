"""Channel QR codes: create (through WeChat), download the image, what each brings."""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange

from wx_member import labels
from wx_member.extensions import runtime
from wx_member.members import channels, stores
from wx_member.insights import channel_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp, scope, store_filter
from wx_member.wechat.api_client import GatewayError

REPURCHASE_DAYS = 90
SHOWN = {"active": False, "retired": True, "all": None}  # the list's filter → retired?


class ChannelForm(FlaskForm):
    scene = StringField("场景值（可留空自动生成；仅字母、数字、_、-）", validators=[Length(max=64)])
    name = StringField("名称（可用中文，如 南京东路店）", validators=[DataRequired(), Length(max=100)])
    kind = SelectField("类型", choices=[SelectChoice(k, v) for k, v in labels.CHANNEL_KINDS.items()
                                      if k != "referral"])
    permanent = BooleanField("永久二维码（每个公众号最多 10 万个）")
    days = IntegerField("临时码有效天数", default=30, validators=[NumberRange(1, 30)])
    store = SelectField("所属门店（入会会员的归属门店）", choices=[], validate_choice=False)


@bp.route("/channels", methods=["GET", "POST"])
def channel_list():
    form = ChannelForm()
    choices = stores.choices(g.db)
    own = next((code for i, code, _ in choices if i == scope()), None)
    form.store.choices = ([SelectChoice(own, own)] if scope() is not None else
                          [SelectChoice("", "不属于门店")] +
                          [SelectChoice(code, f"{code} {name}") for _, code, name in choices])
    if form.validate_on_submit():
        try:
            # A store account's codes stand in its own store, whatever the form says.
            store = own if scope() is not None else (form.store.data or None)
            scene = (form.scene.data or "").strip() or channels.new_scene(g.db, form.kind.data)
            channel = channels.create(g.db, runtime().gateway, scene=scene,
                            name=form.name.data, kind=form.kind.data,
                            permanent=form.permanent.data, expire_days=form.days.data,
                            by=g.operator.username, store=store)
        except GatewayError as exc:  # before DomainError: it is one, with WeChat's errcode
            flash(f"微信未能生成二维码（{exc.errcode}：{exc.errmsg}），未保存。", "error")
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"渠道码 {channel.scene} 已创建。", "ok")
            return redirect(url_for("admin.channel_list"))
    elif form.is_submitted():
        flash("请检查表单：" + "；".join(f"{form[f].label.text}填写有误" for f in form.errors
                                         if f != "csrf_token"), "error")
    store = store_filter()
    # Retired codes are out of the way unless asked for (their scans still count).
    status = request.args.get("status", "active")
    status = status if status in SHOWN else "active"
    return render_template("admin/channels.html", form=form, days=REPURCHASE_DAYS,
                           rows=channel_view.channel_report(g.db, REPURCHASE_DAYS, store_id=store,
                                                    retired=SHOWN[status]),
                           status=status, statuses=labels.CHANNEL_LIST_FILTERS,
                           kinds=labels.CHANNEL_KINDS, store=store,
                           store_choices=choices if scope() is None else [],
                           store_codes={i: c for i, c, _ in choices})


@bp.route("/channels/<scene>/store", methods=["POST"])
def channel_store(scene: str):
    """Headquarters puts a channel code in a store (or in none), audited: joins through it
    from now on get that home store."""
    code = request.form.get("store", "").strip() or None
    try:
        stores.assign_channel(g.db, scene, code, by=g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"渠道码 {scene} 已归入门店 {code}。" if code else f"渠道码 {scene} 已不属于任何门店。",
              "ok")
    return redirect(url_for("admin.channel_list"))


@bp.route("/channels/<scene>/qrcode.png")
def channel_qrcode(scene: str):
    try:  # WeChat failing: the console's error page, 503
        png = channels.qrcode_image(g.db, runtime().gateway, scene, store_id=scope())
    except channels.UnknownChannel as exc:
        return render_template("admin/error.html", title="渠道码", message=exc.user_message), 404
    return Response(png, mimetype="image/png",
                    headers={"Content-Disposition": f"attachment; filename=qrcode-{scene}.png"})


@bp.route("/channels/<scene>")
def channel_detail(scene: str):
    """The code on screen with its caption, to check before printing; rename, renew."""
    try:
        channel = channels.get(g.db, scene)
    except channels.UnknownChannel as exc:
        return render_template("admin/error.html", title="渠道码", message=exc.user_message), 404
    return render_template("admin/channel.html", c=channel, kinds=labels.CHANNEL_KINDS)


@bp.route("/channels/<scene>", methods=["POST"])
def channel_update(scene: str):
    form = request.form
    try:
        if form.get("action") == "renew":
            days = form.get("days", "").strip()
            if not days.isdigit() or not 1 <= int(days) <= 30:
                raise channels.InvalidChannel("bad days", user_message="临时码有效天数须为 1-30 天。")
            channels.renew(g.db, runtime().gateway, scene, int(days), g.operator.username)
            flash(f"渠道码已续期 {days} 天：请下载新的二维码（旧码到期后失效）。", "ok")
        else:
            channels.update(g.db, scene, name=form.get("name", ""), kind=form.get("kind", ""),
                            by=g.operator.username)
            flash("渠道码已修改；场景值和已印刷的二维码不变。", "ok")
    except GatewayError as exc:
        flash(f"微信未能生成二维码（{exc.errcode}：{exc.errmsg}），未续期。", "error")
    except DomainError as exc:
        flash(exc.user_message, "error")
    return redirect(url_for("admin.channel_detail", scene=scene))


@bp.route("/channels/<scene>/retire", methods=["POST"])
def channel_retire(scene: str):
    """Retire a code (asked first, audited): printed codes still make members, counted to
    it; it is only hidden from the default list and no longer edited or renewed."""
    try:
        channel = channels.retire(g.db, scene, g.operator.username)
    except channels.UnknownChannel as exc:
        return render_template("admin/error.html", title="渠道码", message=exc.user_message), 404
    flash(f"渠道码「{channel.name}」已停用：已印刷的二维码扫码仍可入会并计入该渠道，"
          "列表默认不再显示它（可筛选“已停用”查看）。", "ok")
    return redirect(url_for("admin.channel_detail", scene=scene))


@bp.route("/channels/<scene>/restore", methods=["POST"])
def channel_restore(scene: str):
    """Bring a retired code back (asked first, audited): listed, editable and renewable
    again; its figures never stopped counting."""
    try:
        channel = channels.restore(g.db, scene, g.operator.username)
    except channels.UnknownChannel as exc:
        return render_template("admin/error.html", title="渠道码", message=exc.user_message), 404
    flash(f"渠道码「{channel.name}」已恢复使用，可以再修改、续期。", "ok")
    return redirect(url_for("admin.channel_detail", scene=scene))
