"""Reply texts shared by the join handlers."""
from handlers.context import Context
from wx_member.members.joining import JoinResult


def joined_reply(result: JoinResult, ctx: Context) -> str:
    m = result.member
    name = "welcome" if result.created else "welcome_back"
    return ctx.replies.render(name, card_no=m.card_no, points=m.points_balance,
                              signup_points=result.signup_points, coupon=result.coupon)
