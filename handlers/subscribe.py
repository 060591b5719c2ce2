"""subscribe (plain, or by scanning a QR code: EventKey qrscene_<scene>)."""
from handlers import Context
from handlers.replies import joined_reply
from wx_member.members import joining


def handle(session, msg, ctx: Context) -> str:
    scene = getattr(msg, "scene_id", None) or None  # SubscribeScanEvent strips qrscene_
    # Events carry no unionid; the mini-program login links it (services.members.join).
    result = joining.join(session, msg.source, scene=scene, now=ctx.now)
    return lambda: joined_reply(result, ctx)  # rendered after the commit
