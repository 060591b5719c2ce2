"""What every handler is given besides the session and the event."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from wx_member.replies import Replies
from wx_member.wechat.inbound import Event


@dataclass(frozen=True)
class Context:
    replies: Replies
    tz: ZoneInfo  # the programme's zone (the event's own time is `event.at`, UTC)


Handler = Callable[[Session, Event, Context], "str | None | Callable[[], str | None]"]
