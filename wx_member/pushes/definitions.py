"""Push kinds, as data: one TOML file per kind in templates_msg/ (replies.toml excepted),
loaded and checked once at start-up.

A definition names its channels in order (`channels = ["template", "subscribe",
"custom"]`; the older `channel = "…"` is a list of one), whether it is service or marketing,
its link and its fields (Jinja2, StrictUndefined), and `[sample]` values: every variable a
field uses must be one of them, and each field rendered with them must fit WeChat's length
limit, or loading fails before anything is sent. Per member, the first channel that can
reach them within WeChat's rules is taken (pushes/reach.py).

Channels and what they need: `template` (service only) and the subscribe messages,
`subscribe` (the mini-program's) and `bizsend` (the Official Account's), render `[fields]`
with a template id each (WX_TEMPLATE_<KIND> for the first of them, WX_TEMPLATE_<KIND>_<CHANNEL>
for any); `custom` (the 48-hour window) renders `text`; `mass` (群发, marketing only) sends
`mass_text`, one text for every recipient, so it may not use a member's own values.

A kind sent in steps (the after-sale care schedule) lists them as `[[steps]]`, each with its
`day` and its own values (a title, a text) for the same fields: every step is rendered and
checked like the samples, and the first step's values join the samples for dry runs.

Length rule (WeChat's data types, the key's prefix names the type, as in `thing1`):
thing 20 characters, phrase 5, name 10, car_number 8, phone_number 17, number /
letter / character_string / amount 32, symbol 5; any other key 200 characters; a
customer-service text 600 characters. At send time a member's own value (a long name)
can still overflow: it is cut to the limit with "…" rather than refused by WeChat (47003).
"""
from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError, meta

log = logging.getLogger(__name__)

CHANNELS = ("template", "subscribe", "bizsend", "custom", "mass")
TEMPLATED = ("template", "subscribe", "bizsend")  # data fields and a template id
# A member's own values: never in a mass send's text (one text for every recipient).
MEMBER_KEYS = ("card_no", "tier", "points", "offer")
CATEGORIES = ("service", "marketing")
LIMITS = {"thing": 20, "phrase": 5, "name": 10, "car_number": 8, "phone_number": 17,
          "number": 32, "letter": 32, "character_string": 32, "amount": 32, "symbol": 5}
DEFAULT_LIMIT = 200
CUSTOM_TEXT_LIMIT = 600
# What every kind may use besides its own sample variables.
COMMON = {"programme": "会员俱乐部", "card_no": "8000000018", "tier": "普通会员"}
MARKETING_RULE = ("WeChat's template message rules (模板消息运营规范) forbid marketing "
                  "content in template messages: send marketing kinds as subscribe or "
                  "customer-service (custom) messages")


class DefinitionError(Exception):
    """A push definition that must not be used: refused at start-up."""


def field_limit(key: str) -> int:
    prefix = re.sub(r"\d+$", "", key)
    return LIMITS.get(prefix, DEFAULT_LIMIT)


def fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class PushKind:
    kind: str
    title: str  # for operators
    category: str  # service | marketing
    channel: str  # the first of `channels` (what a kind with one channel sends on)
    urgent: bool  # true: quiet hours do not postpone it
    fields: dict[str, Template]  # template/subscribe: data key → text
    text: Template | None  # custom: the message text
    url: str | None
    page: str | None  # mini-program page
    sample: dict[str, Any]
    template_id: str | None = None  # per deployment (WX_TEMPLATE_<KIND>)
    disabled: str | None = None  # why it cannot be sent here (no template id)
    options: dict[str, Any] = field(default_factory=dict)  # the kind's own settings
    steps: dict[int, dict[str, Any]] = field(default_factory=dict)  # day → that step's values
    channels: list[str] = field(default_factory=list)  # usable here, in order
    template_ids: dict[str, str] = field(default_factory=dict)  # templated channel → id
    unavailable: dict[str, str] = field(default_factory=dict)  # listed channel → why not here
    mass_text: Template | None = None

    def __post_init__(self):
        if not self.channels and not self.unavailable:
            self.channels = [self.channel]
        if self.template_id and self.channel in TEMPLATED:
            self.template_ids.setdefault(self.channel, self.template_id)

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"

    def render(self, values: Mapping[str, Any], mini_appid: str = "",
               channel: str | None = None) -> dict[str, Any]:
        """The request body for one member on `channel` (default: the first usable here),
        minus `touser`."""
        channel = channel or (self.channels[0] if self.channels else self.channel)
        if channel == "custom":
            assert self.text is not None
            return {"text": fit(self.text.render(values), CUSTOM_TEXT_LIMIT)}
        if channel == "mass":
            assert self.mass_text is not None
            return {"text": fit(self.mass_text.render(values), CUSTOM_TEXT_LIMIT)}
        data = {key: {"value": fit(tpl.render(values), field_limit(key))}
                for key, tpl in self.fields.items()}
        body: dict[str, Any] = {"template_id": self.template_ids.get(channel, self.template_id),
                                "data": data}
        if channel == "subscribe":
            if self.page:
                body["page"] = self.page
        elif channel == "bizsend" and self.page and mini_appid:
            body["miniprogram"] = {"appid": mini_appid, "pagepath": self.page}
        elif channel == "bizsend" and self.url:
            body["page"] = self.url
        elif self.page and mini_appid:
            body["miniprogram"] = {"appid": mini_appid, "pagepath": self.page}
        elif self.url:
            body["url"] = self.url
        return body


def _parse(path: Path, env: Environment, template_ids: Mapping[str, str]) -> PushKind:
    data = tomllib.loads(path.read_text("utf-8"))
    kind = data.get("kind", path.stem)
    where = f"{path.name}"
    if kind != path.stem:
        raise DefinitionError(f"{where}: kind {kind!r} must match the file name")
    category = data.get("category")
    listed = data.get("channels", [data["channel"]] if "channel" in data else None)
    if category not in CATEGORIES:
        raise DefinitionError(f"{where}: category must be one of {CATEGORIES}, got {category!r}")
    if (not isinstance(listed, list) or not listed or len(set(listed)) != len(listed)
            or any(c not in CHANNELS for c in listed)):
        raise DefinitionError(f"{where}: channels must be a list of distinct channels from "
                              f"{CHANNELS}, got {listed!r}")
    if category == "marketing" and "template" in listed:
        raise DefinitionError(f"{where}: {kind} is marketing; {MARKETING_RULE}")
    if category == "service" and "mass" in listed:
        raise DefinitionError(f"{where}: {kind} is a service notice; mass sends (群发) are "
                              f"for marketing and count against a follower's 4 a month")
    sample = {**COMMON, **data.get("sample", {})}
    steps = _steps(data.get("steps", []), where)
    sources: dict[str, tuple[str, int | None]] = {}  # name → (source, length limit)
    try:
        if any(c in TEMPLATED for c in listed):
            if not isinstance(data.get("fields"), dict):
                raise KeyError("fields")
            sources.update({k: (v, field_limit(k)) for k, v in data["fields"].items()})
        if "custom" in listed:
            sources["text"] = (data["text"], CUSTOM_TEXT_LIMIT)
        if "mass" in listed:
            sources["mass_text"] = (data["mass_text"], CUSTOM_TEXT_LIMIT)
    except KeyError as exc:
        raise DefinitionError(f"{where}: missing {exc.args[0]!r}") from None
    compiled: dict[str, Template] = {}
    # Without steps the samples are the one set of values; with steps, each step's own.
    variants = {f"step day {d}": {**sample, **v} for d, v in steps.items()} or {"": sample}
    for key, (source, limit) in sources.items():
        for label, values in variants.items():
            at = f"{where}{f' ({label})' if label else ''}"
            try:
                used = meta.find_undeclared_variables(env.parse(source))
                unknown = used - set(values)
                if unknown:
                    raise DefinitionError(
                        f"{at}: field {key} uses unknown variable(s) {', '.join(sorted(unknown))}; "
                        f"declare them in [sample]{' or in every step' if steps else ''}")
                if key == "mass_text" and used & set(MEMBER_KEYS):
                    raise DefinitionError(
                        f"{at}: mass_text is one text for every recipient: it may not use "
                        f"{', '.join(sorted(used & set(MEMBER_KEYS)))}")
                compiled[key] = env.from_string(source)
                value = compiled[key].render(values)
            except TemplateError as exc:
                raise DefinitionError(f"{at}: field {key}: {exc}") from exc
            if limit is not None and len(value) > limit:
                raise DefinitionError(f"{at}: field {key} renders {len(value)} characters, "
                                      f"over WeChat's limit of {limit} for this field: {value!r}")
    link = data.get("link", {})
    ids, unavailable = {}, {}
    first_templated = next((c for c in listed if c in TEMPLATED), None)
    for c in listed:
        if c not in TEMPLATED:
            continue
        tid = template_ids.get(f"{kind}_{c}") or (
            template_ids.get(kind) if c == first_templated else None)
        if tid:
            ids[c] = tid
        else:
            env_name = f"WX_TEMPLATE_{kind.upper()}" + (
                "" if c == first_templated else f"_{c.upper()}")
            unavailable[c] = (f"no template id for {kind}: set {env_name} to the id of the "
                              f"{c} message template in the WeChat admin")
    usable = [c for c in listed if c not in unavailable]
    push = PushKind(kind=kind, title=data.get("title", kind), category=category,
                    channel=listed[0], urgent=bool(data.get("urgent", False)),
                    fields={k: t for k, t in compiled.items() if k not in ("text", "mass_text")},
                    text=compiled.get("text"), url=link.get("url"), page=link.get("page"),
                    sample={**sample, **(steps[min(steps)] if steps else {})},
                    options=data.get("options", {}), steps=steps, channels=usable,
                    template_ids=ids, unavailable=unavailable,
                    mass_text=compiled.get("mass_text"))
    push.template_id = ids.get(listed[0]) if listed[0] in TEMPLATED else None
    if not usable:
        push.disabled = "; ".join(unavailable.values())
    return push


def _steps(items: Any, where: str) -> dict[int, dict[str, Any]]:
    """`[[steps]]`: each a table with a positive, unique integer `day` (which the texts may
    use too) and that step's values."""
    if not isinstance(items, list):
        raise DefinitionError(f"{where}: steps must be an array of tables ([[steps]])")
    steps: dict[int, dict[str, Any]] = {}
    for item in items:
        day = item.get("day") if isinstance(item, dict) else None
        if not isinstance(day, int) or isinstance(day, bool) or day < 1:
            raise DefinitionError(f"{where}: every step needs a positive integer day, got {item!r}")
        if day in steps:
            raise DefinitionError(f"{where}: step day {day} appears twice")
        for key, value in item.items():
            if isinstance(value, str) and ("{{" in value or "{%" in value):
                raise DefinitionError(f"{where}: step day {day}: {key} is plain text, not a "
                                      f"template; use variables in the fields")
        steps[day] = dict(item)
    return dict(sorted(steps.items()))


def load(templates_dir: Path, template_ids: Mapping[str, str] | None = None
         ) -> dict[str, PushKind]:
    """Every push kind; raises DefinitionError on the first bad one. A kind without a
    template id is loaded but disabled (a deployment need not use every kind)."""
    env = Environment(undefined=StrictUndefined, autoescape=False)
    kinds = {}
    for path in sorted(templates_dir.glob("*.toml")):
        if path.stem == "replies":
            continue
        push = _parse(path, env, template_ids or {})
        if push.disabled:
            log.warning("push kind %s disabled: %s", push.kind, push.disabled)
        kinds[push.kind] = push
    return kinds
