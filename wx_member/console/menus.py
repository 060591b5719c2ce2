"""The custom menu: checked against WeChat's limits, published through the gateway, kept
as versions (history), and rolled back by publishing an older version again.

The call to WeChat happens outside any transaction; a version is recorded only once
WeChat accepted it, so the newest version is what followers see.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member import labels
from wx_member.db import UnitOfWork
from wx_member.models import MenuVersion
from wx_member.clock import utcnow
from wx_member.platform import audit
from wx_member.platform.errors import DomainError
from wx_member.wechat.api_client import GatewayError
from wx_member.wechat.gateway import WeChatGateway

# WeChat's limits (menu/create): 1-3 buttons, 1-5 sub-buttons each; names are counted in
# UTF-8 bytes (a Chinese character is 3): 16 for a button (5 characters), 60 for a
# sub-button; a key 128 bytes, a URL 1024.
MAX_BUTTONS, MAX_SUBS = 3, 5
NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024
FIELDS = {"click": ("key",), "view": ("url",), "miniprogram": ("url", "appid", "pagepath")}
APPID_RE = re.compile(r"^wx[0-9a-f]{16}$")


class InvalidMenu(DomainError):
    code = "INVALID_MENU"
    user_message = "菜单无效。"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems), user_message="；".join(problems))
        self.problems = problems


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _check_action(button: dict[str, Any], where: str, problems: list[str],
                  click_keys: Collection[str] | None = None) -> None:
    kind = button.get("type")
    if kind not in FIELDS:
        problems.append(f"{where}：请选择类型（点击事件、打开网页或打开小程序）")
        return
    for name in FIELDS[kind]:
        if not str(button.get(name) or "").strip():
            problems.append(f"{where}：缺少{labels.MENU_FIELDS[name]}")
    if kind == "click" and _bytes(button.get("key") or "") > KEY_BYTES:
        problems.append(f"{where}：key 不能超过 {KEY_BYTES} 字节")
    elif kind == "click" and click_keys is not None and button.get("key") and \
            button["key"] not in click_keys:
        known = "、".join(labels.MENU_CLICK_KEYS.get(k, k) for k in click_keys)
        problems.append(f"{where}：点击事件「{button['key']}」没有对应的功能（可选：{known}）")
    url = button.get("url") or ""
    if url and (not url.startswith(("http://", "https://")) or _bytes(url) > URL_BYTES):
        problems.append(f"{where}：网址须以 http:// 或 https:// 开头，且不超过 {URL_BYTES} 字节")
    if kind == "miniprogram" and button.get("appid") and not APPID_RE.match(button["appid"]):
        problems.append(f"{where}：小程序 appid 格式应为 wx 加 16 位十六进制字符")


def validate(menu: dict[str, Any], click_keys: Collection[str] | None = None) -> None:
    """Raises InvalidMenu listing every problem, in Chinese, before WeChat is called.
    `click_keys`: the keys something answers (the console passes the handlers'); a click
    button with another key would do nothing."""
    problems: list[str] = []
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise InvalidMenu([f"菜单须有 1-{MAX_BUTTONS} 个一级菜单"])
    for i, button in enumerate(buttons, 1):
        where = f"一级菜单 {i}"
        name = str(button.get("name") or "").strip()
        if not name or _bytes(name) > NAME_BYTES:
            problems.append(f"{where}：名称须为 1-{NAME_BYTES} 字节（最多 5 个汉字）")
        subs = button.get("sub_button")
        if subs:
            if len(subs) > MAX_SUBS:
                problems.append(f"{where}：子菜单最多 {MAX_SUBS} 个")
            for j, sub in enumerate(subs, 1):
                sub_where = f"{where} 的子菜单 {j}"
                sub_name = str(sub.get("name") or "").strip()
                if not sub_name or _bytes(sub_name) > SUB_NAME_BYTES:
                    problems.append(f"{sub_where}：名称须为 1-{SUB_NAME_BYTES} 字节（最多 20 个汉字）")
                _check_action(sub, sub_where, problems, click_keys)
        else:
            _check_action(button, where, problems, click_keys)
    if problems:
        raise InvalidMenu(problems)


def latest(session: Session) -> MenuVersion | None:
    return session.scalar(select(MenuVersion).order_by(MenuVersion.id.desc()).limit(1))


def current(uow: UnitOfWork, gateway: WeChatGateway) -> dict[str, Any] | None:
    """Use case (a read): the menu to edit, the newest published here, else what WeChat
    has (none: None)."""
    with uow.read() as session:  # ended before the call to WeChat (its token lives in the database)
        version = latest(session)
    if version is not None:
        return version.menu
    try:
        return gateway.get_menu()
    except GatewayError:
        return None


def history(uow: UnitOfWork, limit: int = 20) -> list[MenuVersion]:
    """Use case (a read): the versions published, newest first."""
    with uow.read() as session:
        return list(session.scalars(select(MenuVersion).order_by(MenuVersion.id.desc())
                                    .limit(limit)))


def publish(uow: UnitOfWork, gateway: WeChatGateway, menu: dict[str, Any], by: str,
            rollback_of: int | None = None) -> MenuVersion:
    """Use case: publish a menu to WeChat and record it as the newest version (audited).
    A GatewayError (WeChat refused it, or could not be reached) records nothing. No
    transaction is open during the call to WeChat."""
    validate(menu)
    gateway.create_menu(menu)
    with uow.write() as session:
        before = latest(session)
        version = MenuVersion(menu=menu, published_at=utcnow(), published_by=by,
                              rollback_of=rollback_of)
        session.add(version)
        audit.record(session, by, "menu.rollback" if rollback_of else "menu.publish", "menu",
                     before.menu if before else None, menu)
    return version


def roll_back(uow: UnitOfWork, gateway: WeChatGateway, version_id: int, by: str) -> MenuVersion:
    """Use case: publish an earlier version again (a new version that says which one). The
    version is read first, and that read ended, before `publish` calls WeChat."""
    with uow.read() as session:
        old = session.get(MenuVersion, version_id)
    if old is None:
        raise InvalidMenu(["没有这个菜单版本"])
    return publish(uow, gateway, old.menu, by, rollback_of=old.id)
