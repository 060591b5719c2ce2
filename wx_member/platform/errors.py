"""Errors a member or operator can cause. `user_message` is shown to them, in Chinese."""


class DomainError(Exception):
    user_message = "操作失败，请稍后再试。"

    def __init__(self, detail: str = "", user_message: str | None = None):
        super().__init__(detail or self.__class__.__name__)
        if user_message:
            self.user_message = user_message


class UnknownMember(DomainError):
    user_message = "您还不是会员，请先关注公众号或扫描门店二维码入会。"


class InsufficientPoints(DomainError):
    user_message = "积分不足。"


class InvalidAmount(DomainError):
    user_message = "数量必须是正整数。"


class InvalidSetting(DomainError):
    user_message = "设置无效。"


class ChannelExists(DomainError):
    user_message = "渠道场景值已存在。"
