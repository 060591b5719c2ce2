"""subscribe (plain, or by scanning a QR code: EventKey qrscene_<scene>)."""
from handlers.context import Context
from handlers.replies import joined_reply
from wx_member.members import joining
from wx_member.wechat.inbound import Subscribed


def handle(session, event: Subscribed, ctx: Context) -> str:
    # Events carry no unionid; the mini-program login links it (members.joining.join).
    result = joining.join(session, event.openid, scene=event.scene, now=event.at,
                          likely_new=True)  # mostly newcomers: INSERT first
    return lambda: joined_reply(result, ctx)  # rendered after the commit
