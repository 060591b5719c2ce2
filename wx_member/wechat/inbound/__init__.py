"""The webhook's inbound side: a signed (and in safe mode encrypted) POST from WeChat →
`decode` → an `Inbound` whose `event` is one typed dataclass per kind (`events`) →
a handler → `encode_reply`.

wechatpy and defusedxml parse inside this package (`codec`, `kinds`); nothing outside
wx_member/wechat/ sees wechatpy's message objects.
"""
from wx_member.wechat.inbound.codec import (  # noqa: F401
    BadSignature,
    Inbound,
    decode,
    encode_reply,
    verify_handshake,
)
from wx_member.wechat.inbound.events import (  # noqa: F401
    MESSAGE_KINDS,
    Event,
    LinkViewed,
    MassSendFinished,
    MenuClicked,
    MessageReceived,
    Scanned,
    SubscribeChoice,
    Subscribed,
    SubscribeNoticeChanged,
    TemplateSendFinished,
    Unhandled,
    Unsubscribed,
)
from wx_member.wechat.inbound.kinds import BadMessage, to_event  # noqa: F401
