"""Errors a member or operator can cause that several areas share. `code` is stable,
`user_message` is shown to them, in Chinese; see wx_member/errors.py for the base."""

from wx_member.errors import DomainError, WeChatUnavailable

__all__ = ["DomainError", "WeChatUnavailable", "UnknownMember", "InsufficientPoints",
           "InvalidAmount", "InvalidSetting", "ChannelExists"]


class UnknownMember(DomainError):
    code = "NOT_A_MEMBER"
    user_message = "您还不是会员，请先关注公众号或扫描门店二维码入会。"


class InsufficientPoints(DomainError):
    code = "INSUFFICIENT_POINTS"
    user_message = "积分不足。"


class InvalidAmount(DomainError):
    code = "INVALID_AMOUNT"
    user_message = "数量必须是正整数。"


class InvalidSetting(DomainError):
    code = "INVALID_SETTING"
    user_message = "设置无效。"


class ChannelExists(DomainError):
    code = "CHANNEL_EXISTS"
    user_message = "渠道场景值已存在。"
