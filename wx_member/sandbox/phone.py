"""The sandbox's root page: for each openid, what that person's WeChat would show, in
order, as a phone-width conversation: what they sent (when a `Simulator` was given the
sandbox), the account's passive replies, customer-service and mass messages as chat
bubbles, template and subscribe messages as 服务通知 cards. An operator or a demo sees a
push as the member will."""
from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

CARD_TITLES = {"template": "模板消息", "subscribe": "小程序订阅消息", "bizsend": "订阅通知",
               "preview": "群发预览"}
STYLE = """
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#ededed;display:flex;gap:16px;padding:16px}
nav{min-width:180px}nav a{display:block;padding:6px 8px;color:#333;text-decoration:none;
border-radius:4px}nav a.on{background:#07c160;color:#fff}
.phone{width:375px;min-height:600px;background:#f5f5f5;border:1px solid #ccc;border-radius:24px;
overflow:hidden}.bar{background:#ededed;text-align:center;padding:12px;font-weight:600;
border-bottom:1px solid #ddd}.chat{padding:12px;display:flex;flex-direction:column;gap:10px}
.msg{max-width:75%;padding:8px 10px;border-radius:6px;white-space:pre-wrap;word-break:break-all;
font-size:15px}.in{align-self:flex-start;background:#fff}.out{align-self:flex-end;background:#95ec69}
.card{align-self:stretch;background:#fff;border-radius:8px;padding:10px 12px;font-size:14px}
.card h4{margin:0 0 6px;font-size:13px;color:#888;font-weight:normal}.card dl{margin:0}
.card dt{color:#888;float:left;clear:left;width:40%}.card dd{margin:0 0 4px 40%}
.meta{font-size:11px;color:#999;align-self:center}
"""


def _text(entry: dict[str, Any]) -> str:
    request = entry["request"]
    if "text" in request and isinstance(request["text"], dict):
        return request["text"].get("content", "")
    if "image" in request:
        return "[图片]"
    return ""


def conversation(sent: list[dict[str, Any]], notes: list[dict[str, Any]], openid: str
                 ) -> list[dict[str, Any]]:
    """What `openid` saw and did, in order: [{"kind", "who": user|account, "text" | "data"}]."""
    items = [n for n in notes if n["openid"] == openid]
    for e in sent:
        r = e["request"]
        if e["kind"] == "mass" and openid in r.get("touser", []):
            items.append({"seq": e["seq"], "who": "account", "kind": "mass", "text": _text(e)})
        elif e["kind"] in ("custom", "template", "subscribe", "bizsend", "preview") and (
                r.get("touser") == openid):
            item = {"seq": e["seq"], "who": "account", "kind": e["kind"]}
            if isinstance(r.get("data"), dict):
                item["data"] = {k: v.get("value", "") if isinstance(v, dict) else v
                                for k, v in r["data"].items()}
            else:
                item["text"] = _text(e)
            items.append(item)
    return sorted(items, key=lambda i: i["seq"])


def openids(sent: list[dict[str, Any]], notes: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {n["openid"]: None for n in notes}
    for e in sent:
        to = e["request"].get("touser")
        for o in (to if isinstance(to, list) else [to] if isinstance(to, str) else []):
            seen[o] = None
    return list(seen)


def page(sent: list[dict[str, Any]], notes: list[dict[str, Any]], chosen: str | None) -> str:
    people = openids(sent, notes)
    chosen = chosen if chosen in people else (people[0] if people else None)
    nav = "".join(f'<a href="/?openid={quote(o)}" class="{"on" if o == chosen else ""}">'
                  f"{escape(o)}</a>" for o in people) or "<p>还没有消息。</p>"
    bubbles = []
    for item in conversation(sent, notes, chosen) if chosen else []:
        if "data" in item:
            rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>"
                           for k, v in item["data"].items())
            bubbles.append(f'<div class="card"><h4>{CARD_TITLES.get(item["kind"], "服务通知")}'
                           f"</h4><dl>{rows}</dl></div>")
        else:
            side = "out" if item["who"] == "user" else "in"
            label = {"mass": "群发", "custom": "客服消息", "reply": "自动回复",
                     "preview": "群发预览"}.get(item["kind"])
            meta = f'<div class="meta">{label}</div>' if label else ""
            bubbles.append(f'{meta}<div class="msg {side}">{escape(item.get("text", ""))}</div>')
    title = escape(chosen or "微信")
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>沙箱 · {title}</title>'
            f"<style>{STYLE}</style></head><body><nav><h3>关注者</h3>{nav}</nav>"
            f'<div class="phone"><div class="bar">{title}</div><div class="chat">'
            f'{"".join(bubbles)}</div></div></body></html>')
