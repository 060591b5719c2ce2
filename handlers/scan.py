"""SCAN: a follower scanned a channel QR code (EventKey is the raw scene)."""
from handlers.context import Context
from handlers.replies import joined_reply
from wx_member.members import joining
from wx_member.wechat.inbound import Scanned


def handle(session, event: Scanned, ctx: Context) -> str:
    result = joining.join(session, event.openid, scene=event.scene, now=event.at)
    return lambda: joined_reply(result, ctx)  # rendered after the commit
