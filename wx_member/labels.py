"""Every Chinese label a member or operator reads for a stored code, one dictionary per idea.

Bottom layer (beside models and config): read models, the console, the API and replies all
look labels up here, so a tier, a status or a reason is called the same everywhere. Keys
are the codes stored in the database (or used in configuration); a code missing from its
dictionary is shown by each caller as it chooses (the code itself, or 其他).
Error messages are not labels: they live with their DomainError (`user_message`).
"""
from __future__ import annotations

# -- members ------------------------------------------------------------------------------
TIER_NAMES = {"normal": "普通会员", "silver": "银卡会员", "gold": "金卡会员", "diamond": "钻石会员"}
# Why a member's tier changed (tier_history.reason).
TIER_REASONS = {"payment": "消费升级", "refund": "退款调整", "adjust": "人工调整"}
# Where a member came from (channel.kind).
CHANNEL_KINDS = {"store": "门店", "staff": "店员", "poster": "海报", "campaign": "活动",
                 "referral": "推荐"}

# -- points and stored value (ledger reasons) ---------------------------------------------
POINTS_REASONS = {
    "signup": "入会礼",
    "referral": "推荐好友",
    "checkin": "每日签到",
    "adjust": "人工调整",
    "import": "导入原有积分",
    "purchase": "消费积分",
    "refund": "退款扣回",
    "birthday": "生日积分",
    "erasure": "个人信息删除，积分作废",
    "expire": "积分过期",
    "redeem_gift": "积分兑换礼品",
    "redeem_cash": "积分抵现",
    "redeem_cancel": "积分抵现撤销",
}
BALANCE_REASONS = {"recharge": "储值充值", "recharge_bonus": "充值赠送", "pay": "储值消费",
                   "refund": "充值退款", "refund_bonus": "退款扣回赠送", "pay_refund": "储值消费退款",
                   "refund_undone": "退款未成功退回", "refund_bonus_undone": "退款未成功退回赠送",
                   "import": "导入原有储值", "correction": "人工更正"}

# -- orders and coupons -------------------------------------------------------------------
ORDER_STATUS = {"paid": "已支付", "partially_refunded": "部分退款", "refunded": "已退款"}
COUPON_KINDS = {"amount_off": "满减", "percent_off": "折扣", "item": "兑换"}
# 可使用, as the mini-program has always shown it (the console said 可用).
COUPON_STATUS = {"available": "可使用", "used": "已使用", "expired": "已过期", "void": "已作废"}
# What an audit entry's target "kind:number" names, e.g. 活动 #7.
AUDIT_TARGET_KINDS = {"campaign": "活动", "gift": "礼品", "earn_rule": "积分活动"}
# A coupon template's issuing state in the console's list (stopped, its stock used up, issuing).
TEMPLATE_STATE = {"stopped": "已停止发放", "sold_out": "已发完", "issuing": "发放中"}

# -- pushes and campaigns -----------------------------------------------------------------
PUSH_CATEGORIES = {"service": "服务通知", "marketing": "营销"}
PUSH_CHANNELS = {"template": "模板消息", "subscribe": "小程序订阅消息",
                 "bizsend": "公众号订阅通知", "custom": "客服消息（48 小时内）",
                 "mass": "群发消息"}
# Why a channel cannot reach a member (pushes/reach.py: REASONS).
REACH_REASONS = {"no_openid": "无对应 openid", "unfollowed": "未关注公众号",
                 "blocked": "微信告知无法送达", "no_grant": "无剩余订阅次数",
                 "window": "超过 48 小时未互动", "mass_limit": "本月群发次数已满"}
DELIVERY_STATUS = {"queued": "排队中", "sending": "发送中", "sent": "已发送",
                   "delivered": "已送达", "failed": "失败", "skipped": "已跳过",
                   "unknown": "结果未知"}
# Push kinds (templates_msg/<kind>.toml's `kind`), as operators pick and read them.
PUSH_KINDS = {"birthday": "生日礼遇", "campaign": "会员活动", "care_followup": "售后关怀",
              "care_repurchase": "回购关怀", "holiday": "节日祝福", "order_guide": "使用指南",
              "order_shipped": "发货提醒", "points_expiry": "积分到期提醒", "winback": "好久不见"}
# Why a push was skipped or failed: WeChat's errcode, or the sender's own reason (the start
# of `delivery.error`), in an operator's words.
DELIVERY_REASONS = {
    "45015": "超出48小时互动窗口（会员 48 小时内未与公众号互动，客服消息无法送达）",
    "43101": "会员拒收（未订阅或已拒绝该订阅消息）",
    "43004": "会员已取消关注公众号",
    "40003": "openid 无效（不是本公众号的粉丝）",
    "45047": "客服消息超过条数上限",
    "45009": "接口调用超过每日上限",
    "-1": "微信系统繁忙",
    "40007": "media_id 无效（素材不存在，请先在素材库上传）",
    "45028": "群发配额已用完",
    "outside the 48-hour window": "超出48小时互动窗口（会员 48 小时内未与公众号互动，客服消息无法送达）",
    "no subscription grant left": "会员没有剩余的订阅授权",
    "frequency cap": "超过每周营销推送上限",
    "interrupted while sending": "发送中断：可能已送达，未重发",
    "gave up after": "多次重试仍失败",
}
# A mass send (mass_job, pushes/mass_sends.py) as the console's 群发 history shows it.
MASS_STATUS = {"sending": "发送中（未确认）", "sent": "已提交微信", "finished": "微信已发完",
               "failed": "失败（未发送）", "unknown": "结果不明（可能已发出）"}
MASS_CONTENT = {"text": "文字", "image": "图片"}
MASS_BY_TAG = "按标签群发"  # a mass_job of kind "tag" (the others are push kinds)
CAMPAIGN_STATUS = {"scheduled": "待发送", "running": "发送中", "done": "已排队发送",
                   "cancelled": "已取消", "failed": "失败"}

# -- insights -----------------------------------------------------------------------------
# RFM segments by (R high, F high, M high), in the order operators read them. The names are
# also the values a campaign's segment stores: renaming one needs a data migration.
RFM_SEGMENTS = {
    (1, 1, 1): "重要价值", (1, 0, 1): "重要发展", (0, 1, 1): "重要保持", (0, 0, 1): "重要挽留",
    (1, 1, 0): "一般价值", (1, 0, 0): "一般发展", (0, 1, 0): "一般保持", (0, 0, 0): "一般挽留",
}
RFM_NO_ORDER = "未消费"  # members without a counted order: outside the eight segments

# -- console ------------------------------------------------------------------------------
OPERATOR_ROLES = {"viewer": "只读", "operator": "运营", "admin": "管理员", "clerk": "门店店员",
                  "manager": "门店店长"}
# A card number a member held before (members/cards.py, merging.py).
CARD_KINDS = {"lost": "已挂失", "merged": "合并并入"}
# Why two members were merged (members/merging.py).
MERGE_REASONS = {"unionid": "同一微信用户（UnionID）", "phone": "同一手机号", "operator": "人工合并"}
# Why a member is listed as a likely duplicate of another (members/duplicates_view.py).
DUPLICATE_REASONS = {"phone": "同手机号", "unionid": "同 unionid", "name_birthday": "同姓名和生日"}
MERGE_STATUS = {"survivor": "并入本会员", "absorbed": "已并入其他会员", "undone": "已撤销"}

AUDIT_ACTIONS = {
    "card.lost": "挂失补卡",
    "member.merge": "合并会员",
    "member.unmerge": "撤销合并",
    "setting.change": "修改规则",
    "points.adjust": "调整积分",
    "points.cash_off_cancel": "撤销积分抵现",
    "balance.correct": "更正储值",
    "member.name": "修改姓名",
    "member.tag": "添加标签",
    "member.untag": "移除标签",
    "menu.publish": "发布菜单",
    "menu.rollback": "回滚菜单",
    "channel.create": "创建渠道码",
    "operator.create": "新增账号",
    "operator.update": "修改账号",
    "member.export": "导出会员",
    "campaign.dry_run": "活动试发",
    "campaign.create": "创建活动",
    "campaign.cancel": "取消活动",
    "member.import": "导入会员",
    "store.create": "新建门店",
    "store.edit": "修改门店",
    "store.close": "关闭门店",
    "store.reopen": "重新开业",
    "till_key.issue": "发放收银台密钥",
    "till_key.revoke": "停用收银台密钥",
    "member.home_store": "修改归属门店",
    "channel.store": "修改渠道码门店",
    "coupon_template.create": "新建券模板",
    "coupon_template.update": "修改券模板",
    "coupon_template.disable": "停止发放券",
    "coupon_template.enable": "恢复发放券",
    "coupon_template.limit": "修改券的发放总量",
    "coupon.issue": "发券",
    "coupon.void": "作废券",
    "gift.create": "新增礼品",
    "gift.restock": "调整礼品库存",
    "gift.retire": "下架礼品",
    "gift.enable": "上架礼品",
    "gift.image": "上传礼品图片",
    "recharge_option.set": "修改充值档位",
    "earn_rule.create": "新增积分活动",
    "earn_rule.disable": "停用积分活动",
    "channel.update": "修改渠道码",
    "channel.renew": "续期渠道码",
    "channel.retire": "停用渠道码",
    "channel.restore": "恢复渠道码",
    "membership_product.add": "上架付费会员卡",
    "membership_product.active": "付费会员卡上架/下架",
    "benefits.tier_discount": "修改等级折扣",
    "benefits.member_day.add": "新增会员日",
    "benefits.member_day.disable": "停用会员日",
    "benefits.member_price": "修改会员价",
    "tag_rule.add": "新增标签规则",
    "tag_rule.disable": "停用标签规则",
    "push.run": "手动发送推送",
    "push.sync_tags": "同步标签到微信",
    "push.mass_tag": "按标签群发",
    "points.expire_run": "手动执行积分过期",
}
STORE_STATUS = {"open": "营业中", "closed": "已关闭"}
# A channel code in use or retired by an operator (its printed code still makes members).
CHANNEL_STATUS = {"active": "使用中", "retired": "已停用"}
CHANNEL_LIST_FILTERS = {"active": "使用中", "retired": "已停用", "all": "全部"}
# What an unknown or refused console URL says (never Werkzeug's English page): title, text.
CONSOLE_HTTP_ERRORS = {
    400: ("请求无效", "请求格式有误，请返回上一页重试。"),
    403: ("没有权限", "您的账号角色无权执行此操作。"),
    404: ("页面不存在", "您访问的页面不存在，可能链接有误或内容已被删除。"),
    405: ("请求方式不支持", "该页面不支持这种请求方式，请从菜单重新进入。"),
    413: ("文件过大", "上传的内容超过 1 MB，请拆分后重试，或使用命令行导入。"),
    500: ("系统繁忙", "系统出现问题，操作未完成，请稍后再试。"),
}
# The fields of audit entries' before / after, as the audit log shows them.
AUDIT_FIELDS = {"points": "积分", "delta": "变动", "reason": "原因", "role": "角色",
                "active": "启用", "password": "密码", "tag": "标签", "openids": "测试对象",
                "occasion": "场合", "name": "名称", "segment": "分群", "kind": "类型",
                "coupon_template": "优惠券", "scheduled_at_utc": "发送时间", "created": "新建",
                "updated": "更新", "tags_added": "新增标签", "permanent": "永久",
                "button": "菜单", "coupon": "券码", "text": "内容", "status": "状态",
                "stock": "库存", "bonus": "赠送", "image": "图片", "stores": "适用门店",
                "limit": "发放总量", "issued": "已发",
                "expires_at_utc": "有效期至", "percent": "折扣", "excluded": "不参与品类",
                "planned": "今日新计划", "capped": "频次上限拦下", "results": "本次发送结果",
                "stopped": "提前停止", "as_of": "截至（日终）", "members": "会员数",
                "balance_fen": "储值", "delta_fen": "储值变动",
                "tier": "等级", "days": "有效天数", "price_fen": "价格",
                "city": "城市", "address": "地址", "store": "门店", "card_no": "卡号",
                "absorbed_card_no": "并入的卡号", "merge": "合并记录", "key": "密钥编号",
                "prefix": "密钥开头", "label": "收银台",
                "tags_created": "新建微信标签", "tagged": "打标签", "untagged": "取消标签",
                "over_limit": "已有 20 个标签未打的会员", "tags_left_out": "超出 100 个未建的标签",
                "released": "已删除个人信息者在微信取消标签",
                "dropped": "微信已无此粉丝、无需取消的标签",
                "not_following": "微信已无此粉丝、未打标签的会员",
                "msg_id": "微信 msg_id", "order_no": "订单号",
                "unfinished": "未完成（再次同步继续）"}
MENU_BUTTON_TYPES = {"click": "点击事件", "view": "打开网页", "miniprogram": "打开小程序"}
# The click keys a handler answers (handlers/click.py), as the menu editor offers them.
MENU_CLICK_KEYS = {"CHECKIN": "签到", "POINTS": "查积分", "CARD": "会员卡"}
MENU_FIELDS = {"key": "事件 key", "url": "网址", "appid": "小程序 appid", "pagepath": "小程序页面路径"}
# Programme settings (the `setting` table): label and unit, as the rules page shows them.
# Units say which 分 is meant: 积分 (points) or 元 (money: stored in fen, the console shows
# and takes yuan for every key ending in _fen).
SETTINGS = {
    "signup_points": ("入会赠送积分", "积分"),
    "referral_points": ("推荐好友奖励积分（给推荐人）", "积分"),
    "checkin_points": ("每日签到积分", "积分"),
    "points_per_yuan": ("普通会员每消费 1 元得积分", "积分"),
    "tier_silver_fen": ("银卡门槛（累计消费）", "元"),
    "tier_gold_fen": ("金卡门槛（累计消费）", "元"),
    "tier_diamond_fen": ("钻石卡门槛（累计消费）", "元"),
    "tier_normal_rate": ("普通会员积分倍率", "%"),
    "tier_silver_rate": ("银卡积分倍率", "%"),
    "tier_gold_rate": ("金卡积分倍率", "%"),
    "tier_diamond_rate": ("钻石卡积分倍率", "%"),
    "quiet_start_hour": ("免打扰开始（本地时）", "时"),
    "quiet_end_hour": ("免打扰结束（本地时）", "时"),
    "marketing_pushes_per_week": ("每位会员 7 天内最多营销推送", "条"),
    "mass_sends_per_month": ("每位粉丝每月最多收到群发（微信服务号为 4）", "次"),
    "referral_mode": ("推荐奖励方式", ""),
    "referral_percent": ("推荐奖励比例（按比例时）", "%"),
    "referral_orders": ("推荐奖励计入被推荐人的前几单", "单"),
    "tier_window_months": ("等级统计期（0 为累计消费）", "个月"),
    "tier_review": ("降级复核", ""),
    # Birthday gifts per tier (the console's 会员等级 page).
    **{f"tier_{tier}_birthday_points": (f"{name}生日月赠送积分（0 为不送）", "积分")
       for tier, name in TIER_NAMES.items()},
    **{f"tier_{tier}_birthday_coupon_template": (f"{name}生日赠送优惠券", "")
       for tier, name in TIER_NAMES.items()},
    **{f"tier_{tier}_monthly_coupon_template": (f"{name}每月赠送优惠券", "")
       for tier, name in TIER_NAMES.items()},
    "winback_days": ("多少天未消费发送唤回消息（0 为关闭）", "天"),
    "signup_coupon_template": ("入会赠送优惠券", ""),
    "winback_coupon_template": ("唤回消息附赠优惠券", ""),
    "points_expiry_mode": ("积分有效期方式", ""),
    "points_expiry_months": ("滚动有效期（获得后几个月到期）", "个月"),
    "points_expiry_mmdd": ("按年清零的日期（月日，如 1231 为 12 月 31 日）", ""),
    "points_cash_off_rate": ("积分抵现：多少积分抵 1 元", "积分"),
    "points_cash_off_max_percent": ("积分抵现最多占订单金额", "%"),
}
# The words a word-valued (or coded) setting takes, as operators choose them.
SETTING_CHOICES = {
    "referral_mode": {"fixed": "固定积分（被推荐人入会时）", "percent": "按被推荐人前几单积分的比例"},
    "tier_review": {"never": "不降级", "yearly": "每年在升级周年日复核"},
    "points_expiry_mode": {0: "永久有效", 1: "滚动有效期（按月数）", 2: "按年清零（指定日期）"},
}


def tier_name(tier: str) -> str:
    return TIER_NAMES.get(tier, tier)

# WeChat Pay merchant API v3 (wechat/pay_client.py): what a member reads when WeChat Pay
# refuses a call, by WeChat Pay's error code ("" : no usable answer).
WXPAY_ERRORS = {
    "": "微信支付暂时不可用，请稍后再试。",
    "SYSTEM_ERROR": "微信支付系统繁忙，请稍后再试。",
    "FREQUENCY_LIMITED": "操作太频繁，请稍后再试。",
    "ORDERPAID": "该订单已支付，请勿重复支付。",
    "ORDER_CLOSED": "该订单已关闭，请重新下单。",
    "SIGN_ERROR": "微信支付配置有误，请联系商家。",
    "NOAUTH": "商户暂不支持微信支付，请联系商家。",
    "PARAM_ERROR": "支付参数有误，请联系商家。",
    "INVALID_REQUEST": "支付请求无效，请重新下单。",
    "NOT_ENOUGH": "可退款余额不足。",
}
# A WeChat Pay order we created (payments/wxpay_orders.py), as the mini-program shows it.
PREPAY_STATUS = {"created": "待支付", "paid": "已支付", "closed": "已关闭", "failed": "支付失败",
                 "refunded": "已退款"}
# How a 到店买单 was paid (the console's store page).
PAY_WITH = {"balance": "储值", "wechat": "微信支付"}
# The console's 会员权益 and 偏好标签 pages: a member day's kind, what a tag rule counts.
MEMBER_DAY_KINDS = {"weekday": "每周固定一天", "monthday": "每月固定日期"}
TAG_RULE_KINDS = {"category": "品类", "sku": "商品编码"}
# 付费会员 (payments/paid_memberships.py): a tier bought, and its end.
TIER_REASONS.update({"paid": "购买付费会员", "paid_expired": "付费会员到期"})
PUSH_KINDS.update({"paid_renewal": "会员卡续费提醒"})
SETTINGS.update({"paid_membership_refund": ("付费会员退款", "")})
SETTING_CHOICES.update({"paid_membership_refund": {"prorata": "按未使用天数比例退款",
                                                   "never": "不予退款"}})
TIER_REASONS.update({"paid_refund": "付费会员退款"})
# A paid membership's refund (membership_purchase.refund_status; None: not refunded).
MEMBERSHIP_REFUND_STATUS = {"requested": "退款申请中", "processing": "退款处理中",
                            "succeeded": "已退款", "failed": "退款失败（仍有效）"}
SETTINGS.update({"balance_low_fen": ("余额不足提醒门槛（0 为不提醒）", "元")})
PUSH_KINDS.update({"balance_recharged": "储值到账通知", "balance_paid": "储值消费通知",
                   "balance_low": "余额不足提醒"})
