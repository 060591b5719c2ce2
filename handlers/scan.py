"""SCAN: a follower scanned a channel QR code (EventKey is the raw scene)."""
from handlers import Context
from handlers.replies import joined_reply
from wx_member.members import joining


def handle(session, msg, ctx: Context) -> str:
    result = joining.join(session, msg.source, scene=msg.scene_id or None, now=ctx.now)
    return lambda: joined_reply(result, ctx)  # rendered after the commit
