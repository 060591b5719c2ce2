"""The custom menu editor: three buttons with up to five sub-buttons each, a preview,
publishing through the gateway, history and rollback (admins only)."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from handlers import click
from wx_member import labels
from wx_member.extensions import runtime
from wx_member.console import menus
from wx_member.web.admin.blueprint import bp
from wx_member.web.admin.auth import requires
from wx_member.wechat.api_client import GatewayError

SLOT_FIELDS = ("name", "type", "value", "appid", "pagepath")


def _action(prefix: str, form) -> dict[str, Any]:
    kind = form.get(f"{prefix}_type", "")
    button: dict[str, Any] = {"type": kind, "name": form.get(f"{prefix}_name", "").strip()}
    value = form.get(f"{prefix}_value", "").strip()
    if kind == "click":
        button["key"] = value
    elif kind in ("view", "miniprogram"):
        button["url"] = value
    if kind == "miniprogram":
        button["appid"] = form.get(f"{prefix}_appid", "").strip()
        button["pagepath"] = form.get(f"{prefix}_pagepath", "").strip()
    return button


def menu_from_form(form) -> dict[str, Any]:
    """Slots b0..b2 (a button) and b0s0..b0s4 (its sub-buttons); an unnamed slot is empty."""
    buttons = []
    for i in range(menus.MAX_BUTTONS):
        if not form.get(f"b{i}_name", "").strip():
            continue
        if form.get(f"b{i}_type") == "sub":
            subs = [_action(f"b{i}s{j}", form) for j in range(menus.MAX_SUBS)
                    if form.get(f"b{i}s{j}_name", "").strip()]
            buttons.append({"name": form[f"b{i}_name"].strip(), "sub_button": subs})
        else:
            buttons.append(_action(f"b{i}", form))
    return {"button": buttons}


def _slot(button: dict[str, Any] | None) -> dict[str, str]:
    button = button or {}
    kind = "sub" if "sub_button" in button else button.get("type", "")
    return {"name": button.get("name", ""), "type": kind,
            "value": button.get("key") or button.get("url") or "",
            "appid": button.get("appid", ""), "pagepath": button.get("pagepath", "")}


def slots_from_menu(menu: dict[str, Any] | None) -> list[dict[str, Any]]:
    buttons = (menu or {}).get("button", [])
    out = []
    for i in range(menus.MAX_BUTTONS):
        b = buttons[i] if i < len(buttons) else None
        subs = (b or {}).get("sub_button", [])
        out.append({**_slot(b), "subs": [_slot(subs[j] if j < len(subs) else None)
                                         for j in range(menus.MAX_SUBS)]})
    return out


def _click_keys() -> list[tuple[str, str]]:
    """The click keys the handlers answer, with what each does, for the editor's list."""
    return [(k, labels.MENU_CLICK_KEYS.get(k, k)) for k in click.KEYS]


@bp.route("/menu", methods=["GET"])
def menu_edit():
    menu = menus.current(g.db, runtime().gateway)
    return render_template("admin/menu.html", slots=slots_from_menu(menu), preview=menu,
                           problems=[], history=menus.history(g.db), csrf_form=FlaskForm(),
                           types=labels.MENU_BUTTON_TYPES, click_keys=_click_keys())


@bp.route("/menu", methods=["POST"])
@requires("admin")
def menu_save():
    menu = menu_from_form(request.form)
    problems: list[str] = []
    try:
        menus.validate(menu, click_keys=click.KEYS)
        if request.form.get("action") == "publish":
            menus.publish(g.db, runtime().gateway, menu, g.operator.username)
            flash("菜单已发布到微信，用户重新关注或 24 小时内生效。", "ok")
            return redirect(url_for("admin.menu_edit"))
    except menus.InvalidMenu as exc:
        problems = exc.problems
    except GatewayError as exc:
        problems = [f"微信拒绝了菜单（{exc.errcode}：{exc.errmsg}），未发布。"]
    return render_template("admin/menu.html", slots=slots_from_menu(menu), preview=menu,
                           problems=problems, history=menus.history(g.db),
                           csrf_form=FlaskForm(), types=labels.MENU_BUTTON_TYPES, previewing=True,
                           click_keys=_click_keys())


@bp.route("/menu/rollback/<int:version_id>", methods=["POST"])
@requires("admin")
def menu_rollback(version_id: int):
    try:
        menus.roll_back(g.db, runtime().gateway, version_id, g.operator.username)
    except GatewayError as exc:
        flash(f"微信拒绝了菜单（{exc.errcode}：{exc.errmsg}），未回滚。", "error")
    else:
        flash(f"已回滚到版本 {version_id} 的菜单。", "ok")
    return redirect(url_for("admin.menu_edit"))  # other refusals: the console's _refused
