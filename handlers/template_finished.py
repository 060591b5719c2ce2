"""TEMPLATESENDJOBFINISH: WeChat's delivery report for a template message we sent."""
from handlers import Context
from wx_member.pushes import deliveries


def handle(session, msg, ctx: Context) -> None:
    # wechatpy 1.8.18 parses it as TemplateSendJobFinishEvent (`id` = MsgID, `status`);
    # fall back to the raw fields in case another version names them otherwise.
    msgid = getattr(msg, "id", None) or msg._data.get("MsgID")
    status = getattr(msg, "status", None) or msg._data.get("Status", "")
    deliveries.template_finished(session, msg.source, int(msgid), status, ctx.now)
    return None
