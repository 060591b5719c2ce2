"""Reply texts, loaded from templates_msg/replies.toml and compiled once at start-up."""
from __future__ import annotations

import tomllib
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template

# Sample values: rendering each reply with them at start-up catches a typo'd variable.
_SAMPLE = {"programme": "会员俱乐部", "card_no": "8000000018", "points": 10, "signup_points": 10,
           "tier": "普通会员", "awarded": 1, "coupon": "10元代金券"}


class Replies:
    def __init__(self, templates_dir: Path, programme: str):
        data = tomllib.loads((templates_dir / "replies.toml").read_text("utf-8"))
        env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._templates: dict[str, Template] = {k: env.from_string(v["text"]) for k, v in data.items()}
        self._programme = programme
        for name in self._templates:
            self.render(name, **_SAMPLE)

    def render(self, name: str, **values) -> str:
        values.setdefault("programme", self._programme)
        return self._templates[name].render(**values)
