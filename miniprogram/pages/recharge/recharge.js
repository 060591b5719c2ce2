// 储值充值: the recharge ladder, paying through wx.requestPayment with what
// POST /api/me/recharges answers, then polling GET /api/me/orders/{no} until the payment is
// credited (the notify may arrive after the payment sheet closes). Shapes: the API's
// CheckoutOut and PayOrderOut (wx_member/web/api/recharges.py; docs/miniprogram.md#recharge).
const api = require('../../utils/api.js')
const subscribe = require('../../utils/subscribe.js')
const { yuan, dateTime } = require('../../utils/format.js')
const { requestPayment, sleep } = require('../../utils/wxpay.js')

const POLL_MS = 1500
const POLLS = 10
const PAID = 'paid'
const GIVEN_UP = ['closed', 'failed'] // the order will not be paid: stop polling

Component({
  data: { options: [], balance: null, entries: [], paying: 0, state: '' },
  methods: {
    onShow() { return this.load() },
    load() {
      return Promise.all([
        api.rechargeOptions().then((r) => this.setData({ options: r.options.map((o) => ({
          amount: o.amount_fen, text: o.text, yuan: yuan(o.amount_fen),
          bonus: o.bonus_fen ? yuan(o.bonus_fen) : '' })) }), () => null),
        api.balance().then((b) => this.setData({ balance: yuan(b.balance_fen),
          entries: b.entries.map((e) => ({ id: e.id, delta: yuan(e.delta_fen),
            reason: e.reason_zh, at: dateTime(e.created_at) })) }), () => null),
      ])
    },
    recharge(e) {
      if (this.data.paying) return Promise.resolve()
      const amount = Number(e.currentTarget.dataset.amount)
      this.setData({ paying: amount, state: '' })
      return subscribe.askFor('recharge')
        .then(() => api.createRecharge({ option_fen: amount }))
        .then((res) => requestPayment(res.payment).then(() => this.waitPaid(res.order.out_trade_no),
          (err) => {
            const cancelled = /cancel/.test((err && err.errMsg) || '')
            this.setData({ state: cancelled ? '已取消支付' : '支付未完成，请稍后再试' })
            // Closed at WeChat Pay now rather than in 15 minutes. One paid meanwhile is
            // credited instead: the answer then says paid (or 409 PAY_ORDER_NOT_OPEN, when
            // the notify came first), and the page says so.
            if (!cancelled) return null
            const no = res.order.out_trade_no
            return api.cancelOrder(no)
              .catch((fail) => (fail.code === 'PAY_ORDER_NOT_OPEN' ? api.order(no) : null))
              .catch(() => null)
              .then((o) => (o && o.status === PAID ? this.credited() : null))
          }))
        .catch(() => null) // the API's message was shown by utils/api.js
        .finally(() => this.setData({ paying: 0 }))
    },
    credited() {
      this.setData({ state: '充值成功' })
      wx.showToast({ title: '充值成功', icon: 'success' })
      return this.load()
    },
    async waitPaid(outTradeNo) {
      this.setData({ state: '支付成功，正在入账…' })
      for (let i = 0; i < POLLS; i += 1) {
        const order = await api.order(outTradeNo).catch(() => null)
        if (order && order.status === PAID) return this.credited()
        if (order && GIVEN_UP.includes(order.status)) {
          this.setData({ state: `支付未完成（${order.status_zh}）` })
          return null
        }
        await sleep(POLL_MS)
      }
      this.setData({ state: '支付已完成，到账可能稍有延迟，请稍后刷新' })
      return null
    },
  },
})
