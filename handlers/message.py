"""A message a follower sent (text, image, voice, video, location, link): no reply yet, but
it runs through `process_once`, so it is recorded once (by MsgId: WeChat retries) and
opens the customer-service window and counts for activity in the same transaction."""
from handlers.context import Context
from wx_member.wechat.inbound import MessageReceived


def handle(session, event: MessageReceived, ctx: Context) -> None:
    return None
