"""What WeChat told us, typed: one small frozen dataclass per kind the app handles.

`codec.decode` builds them from a verified message (wechatpy parses, `kinds` converts);
handlers receive them and never see wechatpy's objects. Every event has:
- `openid`: the follower (FromUserName);
- `at`: when it happened (CreateTime), naive UTC as stored;
- `dedup_key`: `msg:<MsgId>` for a message, `evt:<openid>:<CreateTime>:<kind>` (plus
  `:<MsgID>` for a mass send's report) for an
  event (WeChat's own advice; its retries carry the same key);
- `kind`: wechatpy's lower-case name (`subscribe`, `subscribe_scan`, `scan`, `click`,
  `text`, ...); it is what `inbound_event.kind` and the metrics record.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Event:
    openid: str
    at: datetime
    dedup_key: str
    kind: str


@dataclass(frozen=True, slots=True)
class Subscribed(Event):
    """A follow (`subscribe`), or a follow by scanning a channel's QR code
    (`subscribe_scan`: EventKey `qrscene_<scene>`, the prefix removed here)."""
    scene: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class Scanned(Event):
    """SCAN: a follower scanned a channel's QR code (EventKey is the raw scene)."""
    scene: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribed(Event):
    """An unfollow; WeChat delivers no reply to it."""


@dataclass(frozen=True, slots=True)
class MenuClicked(Event):
    """CLICK on a custom-menu button; `key` is the button's key."""
    key: str = ""


@dataclass(frozen=True, slots=True)
class LinkViewed(Event):
    """VIEW: a menu button that opens `url`."""
    url: str = ""


@dataclass(frozen=True, slots=True)
class TemplateSendFinished(Event):
    """TEMPLATESENDJOBFINISH: WeChat's delivery report for a template message we sent
    (`msgid` is what message/template/send answered; `status` e.g. `success`,
    `failed:user block`, `failed: system failed`)."""
    msgid: int = 0
    status: str = ""


@dataclass(frozen=True, slots=True)
class MassSendFinished(Event):
    """MASSSENDJOBFINISH: WeChat's report on a mass send (`msgid`: what message/mass/send
    answered as msg_id; `status` e.g. `send success`, `send fail`, `err(30003)`), with
    its counts: recipients, filtered out (the monthly limit, unfollowed), sent, failed."""
    msgid: int = 0
    status: str = ""
    total: int = 0
    filtered: int = 0
    sent: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class SubscribeChoice:
    """One template of an Official Account subscribe notice and the follower's answer."""
    template_id: str
    status: str  # accept | reject (SubscribeStatusString)
    scene: int | None = None  # PopupScene: 0 profile page, 1 a message, 2 a web page


@dataclass(frozen=True, slots=True)
class SubscribeNoticeChanged(Event):
    """The follower's answers about the Official Account's subscribe notices (bizsend):
    `subscribe_msg_popup_event` when they answered the account's pop-up (each accept is
    one send allowed), `subscribe_msg_change_event` when they changed it later in the
    notice settings (a reject withdraws what they granted). Several templates each."""
    choices: tuple[SubscribeChoice, ...] = ()


# The kinds of message a follower sends us (not events).
MESSAGE_KINDS = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """A follower sent a message: `kind` is one of MESSAGE_KINDS; `content` is a text's
    words (a link's URL), `media_id` an image's, voice's or video's media."""
    msgid: int = 0
    content: str = ""
    media_id: str = ""


@dataclass(frozen=True, slots=True)
class Unhandled(Event):
    """Any other well-formed message or event: acknowledged, not acted on. `kind` is
    wechatpy's name for it, or `unknown` (never raw input: it labels a metric)."""
