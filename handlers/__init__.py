"""WeChat event → service call. One module per event kind, registered here, in one place.

A handler takes the open session, the parsed wechatpy message and a `Context`, calls one
service and returns the reply text (or None), or a function that makes it, which is called
after the commit so that rendering holds no lock. It never commits: the transaction
belongs to `services.events.process_once`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wx_member.replies import Replies


@dataclass(frozen=True)
class Context:
    replies: Replies
    tz: ZoneInfo
    now: datetime  # UTC, naive: when the event happened (its CreateTime)


Handler = Callable[[Session, object, Context], "str | None | Callable[[], str | None]"]


def _registry() -> dict[str, Handler]:
    from handlers import click, scan, subscribe, template_finished, unsubscribe

    return {
        "subscribe": subscribe.handle,
        "subscribe_scan": subscribe.handle,
        "scan": scan.handle,
        "unsubscribe": unsubscribe.handle,
        "click": click.handle,
        "templatesendjobfinish": template_finished.handle,
    }


HANDLERS: dict[str, Handler] = _registry()


def handler_for(kind: str) -> Handler | None:
    return HANDLERS.get(kind)
