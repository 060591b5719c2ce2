// 储值充值: the recharge ladder and 其他金额 (an amount of the member's own), paying through
// wx.requestPayment with what POST /api/me/recharges answers, then polling
// GET /api/me/orders/{no} until the payment is credited (the notify may arrive after the
// payment sheet closes). Shapes: the API's CheckoutOut and PayOrderOut
// (wx_member/web/api/recharges.py; docs/miniprogram.md#recharge).
const api = require('../../utils/api.js')
const subscribe = require('../../utils/subscribe.js')
const { yuan, dateTime } = require('../../utils/format.js')
const { requestPayment, sleep } = require('../../utils/wxpay.js')
const { parseRecharge, otherView } = require('./views.js')

const POLL_MS = 1500
const POLLS = 10
const PAID = 'paid'
const GIVEN_UP = ['closed', 'failed'] // the order will not be paid: stop polling
const OTHER = 'other' // `paying` while a 其他金额 recharge is on its way (a rung: its amount)
const NO_OTHER = { otherText: '', otherTouched: false, otherFen: 0, otherHint: '',
  otherYuan: '', otherBonus: '', otherRung: '', otherTotal: '' }

Component({
  data: Object.assign({ options: [], balance: null, entries: [], paying: 0, state: '',
    otherOpen: false }, NO_OTHER),
  methods: {
    onShow() { return this.load() },
    load() {
      return Promise.all([
        api.rechargeOptions().then((r) => {
          this.ladder = r.options
          this.setData({ options: r.options.map((o) => ({
            amount: o.amount_fen, text: o.text, yuan: yuan(o.amount_fen),
            bonus: o.bonus_fen ? yuan(o.bonus_fen) : '' })) })
          if (this.data.otherText) this.setData(otherView(this.data.otherText, this.ladder))
        }, () => null),
        api.balance().then((b) => this.setData({ balance: yuan(b.balance_fen),
          entries: b.entries.map((e) => ({ id: e.id, delta: yuan(e.delta_fen),
            reason: e.reason_zh, at: dateTime(e.created_at) })) }), () => null),
      ])
    },
    // A rung: paid at once with its amount.
    recharge(e) {
      const amount = Number(e.currentTarget.dataset.amount)
      return this.pay({ option_fen: amount }, amount)
    },
    // 其他金额: the field, the bonus the ladder gives what is typed, and the pay button.
    chooseOther() {
      if (this.data.paying) return
      this.setData({ otherOpen: true, state: '' })
    },
    onOtherAmount(e) { // returns nothing: a returned string would replace what is typed
      const text = e.detail.value
      this.setData(Object.assign({ otherText: text, otherTouched: true, state: '' },
        otherView(text, this.ladder)))
    },
    payOther() {
      const parsed = parseRecharge(this.data.otherText)
      if (parsed.error) { // the button is disabled then; a tap that comes anyway says why
        this.setData({ otherTouched: true, otherHint: parsed.error })
        return Promise.resolve()
      }
      return this.pay({ amount_fen: parsed.fen }, OTHER)
    },
    // One recharge at a time (a second tap while one is on its way sends nothing). body:
    // {option_fen} or {amount_fen}; marker: what `paying` shows as busy.
    pay(body, marker) {
      if (this.data.paying) return Promise.resolve()
      this.setData({ paying: marker, state: '' })
      return subscribe.askFor('recharge')
        .then(() => api.createRecharge(body))
        .then((res) => {
          // The bonus is the server's, fixed on the order now: shown instead when the ladder
          // changed since the page read it.
          const bonus = res.order.bonus_fen
          if (marker === OTHER && (bonus ? yuan(bonus) : '') !== this.data.otherBonus) {
            this.setData({ otherBonus: bonus ? yuan(bonus) : '', otherRung: '',
              otherTotal: yuan(res.order.amount_fen + bonus) })
          }
          return requestPayment(res.payment).then(() => this.waitPaid(res.order.out_trade_no, marker),
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
                .then((o) => (o && o.status === PAID ? this.credited(marker) : null))
            })
        })
        .catch(() => null) // the API's message was shown by utils/api.js
        .finally(() => this.setData({ paying: 0 }))
    },
    credited(marker) {
      // A typed amount is cleared once credited, so that the button does not invite a second.
      this.setData(Object.assign({ state: '充值成功' }, marker === OTHER ? NO_OTHER : {}))
      wx.showToast({ title: '充值成功', icon: 'success' })
      return this.load()
    },
    async waitPaid(outTradeNo, marker) {
      this.setData({ state: '支付成功，正在入账…' })
      for (let i = 0; i < POLLS; i += 1) {
        const order = await api.order(outTradeNo).catch(() => null)
        if (order && order.status === PAID) return this.credited(marker)
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
