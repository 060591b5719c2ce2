"""The console's words for stored values: rules, audit entries, push kinds, delivery
reasons. Labels come from `labels.py`; this module only puts them together, so a rule, a
before → after or a skip reason reads the same on every page.

Money rules (keys ending in `_fen`) are shown and typed in yuan and stored in fen; points
say 积分, never a bare 分."""
from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import g

from wx_member import labels
from wx_member.clock import local_text
from wx_member.coupons import templates
from wx_member.extensions import runtime
from wx_member.insights import segments
from wx_member.platform import settings
from wx_member.pushes import calendar as push_calendar
from wx_member.platform.errors import InvalidSetting

YUAN_RE = re.compile(r"\d{1,9}(\.\d{1,2})?")
ERRCODE_RE = re.compile(r"WeChat error (-?\d+)")


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def percent_text(percent: int) -> str:
    """A share of the list price in a shop's words: 95 → 9.5折, 100 → 不打折."""
    return "不打折" if percent >= 100 else f"{percent / 10:g}折"


def parse_yuan(text: str) -> int:
    """An amount typed in yuan (¥ and commas allowed) as fen; InvalidSetting otherwise."""
    cleaned = text.strip().lstrip("¥￥").replace(",", "").replace("元", "").strip()
    if not YUAN_RE.fullmatch(cleaned):
        raise InvalidSetting(f"bad amount {text!r}",
                             user_message="请按元填写金额（如 200 或 199.90，最多两位小数）。")
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise InvalidSetting(f"bad amount {text!r}") from None


def _template_names() -> dict[int, str]:
    if "_coupon_names" not in g:
        with g.db.read() as session:
            g._coupon_names = {t.id: f"{t.name}（{templates.describe(t)}）"
                               for t in templates.all_templates(session)}
    return g._coupon_names


def template_name(template_id) -> str:
    if not template_id:
        return "不送"
    return _template_names().get(template_id, f"已删除的模板 {template_id}")


def setting_label(key: str) -> str:
    return labels.SETTINGS.get(key, (key, ""))[0]


def setting_text(_uow, key: str, value) -> str:
    """A rule's value in an operator's words: 200.00 元, 25 积分, 不降级, a coupon's name."""
    if value is None:
        return "—"
    if key in labels.SETTING_CHOICES:
        return labels.SETTING_CHOICES[key].get(value, str(value))
    if key.endswith("_coupon_template"):
        return template_name(value)
    unit = labels.SETTINGS.get(key, ("", ""))[1]
    if key.endswith("_fen") and isinstance(value, int):
        return f"{yuan(value)} 元"
    return f"{value} {unit}".strip()


def setting_input(key: str, value) -> str:
    """What the rule's input shows: yuan for money, else the stored value."""
    return yuan(value) if key.endswith("_fen") and isinstance(value, int) else str(value)


def parse_setting(key: str, raw: str):
    """An operator's typed or chosen value as the setting's stored value."""
    if key not in settings.DEFAULTS:
        raise InvalidSetting(f"unknown setting {key!r}", user_message="没有这条规则。")
    if key.endswith("_fen"):
        return parse_yuan(raw)
    if key in labels.SETTING_CHOICES:
        for choice in labels.SETTING_CHOICES[key]:
            if str(choice) == raw:
                return choice
        raise InvalidSetting(f"{key}: {raw!r}", user_message="请从列表中选择。")
    try:
        return settings.parse(key, raw)
    except InvalidSetting:
        raise InvalidSetting(f"{key}: {raw!r}", user_message="请填写非负整数。") from None


def kind_name(kind: str) -> str:
    """A push kind as operators read it."""
    push = runtime().pushes.get(kind)
    return labels.PUSH_KINDS.get(kind) or (push.title if push else kind)


# What a push was for (delivery.occasion, the planners' dedup key) in an operator's words.
_FESTIVAL_NAMES = {key: zh for key, zh, _ in push_calendar.FESTIVALS.values()} | {
    "lantern": "元宵节"}
_OCCASIONS = [  # (pattern, text): first match wins; anything else is shown as it is
    (re.compile(r"campaign:(\d+)"), "活动 #{0}"),
    (re.compile(r"dry:.*"), "试发"),
    (re.compile(r"(?:order|d\d+):(.+)"), "订单 {0}"),
    (re.compile(r"(\d{4}-\d{2}-\d{2}):(\d+)d"), "{0} 到期（提前 {1} 天）"),
    (re.compile(r"(\d{4})"), "{0} 年"),
    (re.compile(r"(\d{4}):(\w+)"), "{0} 年{1}"),
    (re.compile(r"review:(.+)"), "{0} 等级复核"),
    (re.compile(r"paid:(.+)"), "{0} 到期"),
    (re.compile(r"sv:\d+"), "储值变动"),
    (re.compile(r"ledger:\d+"), "积分变动"),
    (re.compile(r"tier:\d+"), "等级变化"),
]


def _festival_name(key: str) -> str:
    push = runtime().pushes.get("holiday")  # the programme's own days, by their names
    own = {d.get("key"): d.get("name") for d in (push.options.get("days", []) if push else [])}
    return _FESTIVAL_NAMES.get(key) or own.get(key) or key


def occasion_text(occasion: str) -> str:
    """A delivery's occasion as operators read it: campaign:12 → 活动 #12, 2026:mid_autumn →
    2026 年中秋节, order:W123 → 订单 W123, 2026-12-31:7d → 2026-12-31 到期（提前 7 天）."""
    for pattern, text in _OCCASIONS:
        m = pattern.fullmatch(occasion or "")
        if m:
            return text.format(*(_festival_name(g) for g in m.groups()))
    return occasion or ""


def reason_text(error: str | None) -> str:
    """Why a delivery was skipped or failed, in Chinese (WeChat's errcode or the sender's
    own reason); an unknown one keeps its text after 其他原因."""
    if not error:
        return ""
    m = ERRCODE_RE.search(error)
    if m and m.group(1) in labels.DELIVERY_REASONS:
        return labels.DELIVERY_REASONS[m.group(1)]
    for start, text in labels.DELIVERY_REASONS.items():
        if not start.lstrip("-").isdigit() and error.startswith(start):
            return text
    if m:
        return f"微信返回错误 {m.group(1)}"
    return f"其他原因（{error}）"


def _value(field: str | None, value, action: str) -> str:
    if value is None:
        return "无"
    if isinstance(value, bool):
        return "是" if value else "否"
    if field in ("bonus", "balance_fen", "delta_fen", "price_fen") and isinstance(value, int):
        return f"{yuan(value)} 元"
    if action == "benefits.member_price" and isinstance(value, int):
        return f"{yuan(value)} 元"
    if field == "percent" and action == "benefits.tier_discount":
        return percent_text(value)
    if field == "excluded" and value == []:
        return "无"
    if field == "tier" and action.startswith("membership_product."):
        return labels.tier_name(value)
    if field == "days" and action.startswith("membership_product."):
        return f"{value} 天"
    if field == "role":
        return labels.OPERATOR_ROLES.get(value, value)
    if field == "results" and isinstance(value, dict):
        return "，".join(f"{labels.DELIVERY_STATUS.get(k, k)} {n}" for k, n in value.items()) \
            or "没有到期的推送"
    if field == "stopped" and isinstance(value, str) and value.startswith("45009"):
        return "已达微信每日接口调用上限（45009），其余待下次发送"
    if field == "stopped" and action == "push.sync_tags":  # WeChat's error, then resumed
        return f"{reason_text(value)}；再次同步会从中断处继续"
    if action == "push.sync_tags" and field and isinstance(value, int):
        return f"{value} {'个' if field.startswith('tags_') else '人次'}"
    if field in ("planned", "capped", "members") and isinstance(value, int):
        return f"{value} {'位' if field == 'members' else '条'}"
    if field == "status" and action.startswith("store."):
        return labels.STORE_STATUS.get(value, value)
    if field == "status" and action.startswith("channel."):
        return labels.CHANNEL_STATUS.get(value, value)
    if field == "kind" and action.startswith("channel."):
        return labels.CHANNEL_KINDS.get(value, value)
    if field == "kind":
        return kind_name(value)
    if field == "coupon_template":
        return template_name(value)
    if field in ("scheduled_at_utc", "expires_at_utc"):
        return local_text(datetime.fromisoformat(value), runtime().config.tz,
                          "%Y-%m-%d %H:%M")
    if field == "segment" and isinstance(value, dict):
        return segments.describe(value)
    if field == "password" and value == "changed":
        return "已修改"
    if field == "button" and isinstance(value, list):
        return " · ".join(b.get("name", "") + ("（" + "、".join(
            s.get("name", "") for s in b["sub_button"]) + "）" if b.get("sub_button") else "")
            for b in value)
    if field == "status" and action.startswith("coupon.") and value in labels.COUPON_STATUS:
        return labels.COUPON_STATUS[value]
    if action.startswith("campaign.") and value in labels.CAMPAIGN_STATUS:
        return labels.CAMPAIGN_STATUS[value]
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_lines(action: str, target: str, before, after) -> list[str]:
    """An audit entry as readable lines: "积分：10 → 35", "原因：投诉补偿"."""
    if action == "setting.change":
        return [f"{setting_text(None, target, before)} → {setting_text(None, target, after)}"]
    if isinstance(before, dict) or isinstance(after, dict):
        # A plain value beside a dict (a coupon's "available" → {"status": "void", …}).
        b, a = ({} if v is None else v if isinstance(v, dict) else {"status": v}
                for v in (before, after))
        lines = []
        for field in list(dict.fromkeys([*b, *a])):
            name = labels.AUDIT_FIELDS.get(field, field)
            if field in b and field in a and b[field] != a[field]:
                lines.append(f"{name}：{_value(field, b[field], action)} → "
                             f"{_value(field, a[field], action)}")
            elif field in a:
                lines.append(f"{name}：{_value(field, a[field], action)}")
            else:
                lines.append(f"{name}：{_value(field, b[field], action)} → 无")
        return lines
    if before is None:
        return [_value(None, after, action)]
    if after is None:
        return [f"{_value(None, before, action)} → 无"]
    return [f"{_value(None, before, action)} → {_value(None, after, action)}"]


def target_text(action: str, target: str) -> str:
    if action == "setting.change":
        return setting_label(target)
    if action == "benefits.tier_discount":
        return labels.tier_name(target)
    if action == "benefits.member_price" and "/" in target:
        sku, tier = target.rsplit("/", 1)
        return f"{sku} {labels.tier_name(tier)}"
    if action.startswith("benefits.member_day."):
        return f"会员日 {target}"
    if action == "push.run":
        return "到期推送" if target == "due" else kind_name(target)
    if action == "push.mass_tag":
        return f"标签「{target}」"
    if action == "push.sync_tags":
        return "微信用户标签"
    if action == "points.expire_run":
        return f"截至 {target} 日终"
    if action.startswith("membership_product."):
        return f"付费会员卡 #{target}"
    kind, _, number = target.partition(":")  # campaign:3, gift:7, coupon_template:2, …
    if number.isdigit() and kind == "coupon_template":
        return f"券模板「{template_name(int(number))}」"
    if number.isdigit() and kind in labels.AUDIT_TARGET_KINDS:
        return f"{labels.AUDIT_TARGET_KINDS[kind]} #{number}"
    return target

