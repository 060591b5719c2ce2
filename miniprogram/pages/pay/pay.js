// 到店买单: a member at a store types the till's total, sees what the member's benefit, one
// coupon and points as cash off make of it, and pays from the stored value (储值) or by
// WeChat Pay; the result is shown to the cashier with a live clock (a screenshot's clock
// stands still). Opened as pages/pay/pay?store=<code> (a store's printed mini-program code),
// ?scene=<code> (wxacode.getUnlimited), or without a store: the open stores to pick from.
// The API: GET /api/stores, GET /api/stores/{code}/checkout, POST /api/me/store-payments,
// GET /api/me/store-payments/{no} (docs/miniprogram.md#到店买单).
const api = require('../../utils/api.js')
const { newKey } = require('../../utils/keys.js')
const { yuan, clock, parseYuan } = require('../../utils/format.js')
const { quoteView, resultView, parseUndiscounted } = require('./views.js')
const { requestPayment, sleep } = require('../../utils/wxpay.js')

const QUOTE_MS = 300 // the quote is asked this long after the last change
const POLL_MS = 1500
const POLLS = 10
const PAID = 'paid'
const GIVEN_UP = ['closed', 'failed'] // the payment will not be paid: stop polling
const STORE_GONE = '门店不存在或已停业。'

Component({
  data: {
    view: '', // stores | pay | done
    loading: false,
    stores: [],
    store: { code: '', name: '' },
    storeError: '',
    amountText: '',
    touched: false, // the member has typed: a hint for an empty amount too
    hint: '',
    undiscountedOpen: false, // 输入不参与优惠金额 tapped: the second amount shown
    undiscountedText: '',
    undiscountedHint: '',
    quote: null,
    stale: false, // a newer quote is asked for: no paying on this one
    quoteError: '',
    coupons: [], // the latest quote's usable coupons
    coupon: '', // the one chosen ('' none)
    usePoints: false,
    paying: '', // balance | wechat, while a payment is on its way
    state: '',
    pendingNo: '', // a WeChat payment not yet confirmed
    result: null,
    clock: '',
  },
  methods: {
    onLoad(options) {
      this.seq = 0 // the number of the latest quote asked for; older answers are dropped
      this.amountFen = 0
      this.undiscountedFen = 0 // 不参与优惠金额 (0: none); -1 while what is typed is refused
      this.quoted = null // what the shown quote was asked with
      this.attempt = null // {sig, key}: a payment tap not yet answered
      const o = options || {}
      const code = String(o.store || (o.scene ? decodeURIComponent(o.scene) : '')).trim()
      return code ? this.openStore(code) : this.listStores()
    },
    onShow() {
      if (this.data.view === 'done') this.startClock()
    },
    onHide() { this.stopClock() },
    onUnload() {
      this.stopClock()
      if (this.quoteTimer) clearTimeout(this.quoteTimer)
      this.seq += 1
    },

    // -- the store ----------------------------------------------------------------------
    listStores() {
      this.setData({ view: 'stores', loading: true })
      return api.stores().then((res) => this.setData({ stores: res.stores, loading: false }),
        () => this.setData({ loading: false }))
    },
    openStore(code, name) {
      this.reset()
      this.setData({ view: 'pay', store: { code, name: name || '' }, storeError: '' })
      if (name) return Promise.resolve()
      // The name (and whether the store is open) before the member types an amount.
      return api.stores({ quiet: true }).then((res) => {
        const s = res.stores.find((x) => x.code === code)
        if (s) this.setData({ 'store.name': s.name })
        else this.setData({ storeError: STORE_GONE })
      }, () => null)
    },
    pickStore(e) {
      const code = e.currentTarget.dataset.code
      const s = this.data.stores.find((x) => x.code === code)
      return this.openStore(code, s ? s.name : '')
    },
    changeStore() {
      if (this.busy) return Promise.resolve()
      this.reset()
      return this.listStores()
    },
    reset() {
      if (this.quoteTimer) clearTimeout(this.quoteTimer)
      this.seq += 1
      this.amountFen = 0
      this.undiscountedFen = 0
      this.quoted = null
      this.attempt = null
      this.setData({ amountText: '', touched: false, hint: '', undiscountedOpen: false,
        undiscountedText: '', undiscountedHint: '', quote: null, stale: false, quoteError: '',
        coupons: [], coupon: '', usePoints: false, state: '', pendingNo: '' })
    },

    // -- the quote ----------------------------------------------------------------------
    onAmount(e) {
      const text = e.detail.value
      const parsed = parseYuan(text)
      this.amountFen = parsed.fen || 0
      this.setData({ amountText: text, touched: true, hint: parsed.error || '', state: '' })
      this.readUndiscounted() // more than the amount or not depends on the amount too
      this.schedule()
    },
    toggleUndiscounted() {
      if (this.busy) return
      const open = !this.data.undiscountedOpen
      this.setData({ undiscountedOpen: open })
      if (open) return
      this.setData({ undiscountedText: '' }) // hidden: none
      this.readUndiscounted()
      this.schedule()
    },
    onUndiscounted(e) {
      this.setData({ undiscountedText: e.detail.value, state: '' })
      this.readUndiscounted()
      this.schedule()
    },
    readUndiscounted() {
      const parsed = parseUndiscounted(this.data.undiscountedText, this.amountFen)
      this.undiscountedFen = parsed.error ? -1 : parsed.fen
      this.setData({ undiscountedHint: parsed.error || '' })
    },
    selectCoupon(e) {
      const code = e.currentTarget.dataset.code || ''
      if (this.busy || code === this.data.coupon) return
      this.setData({ coupon: code })
      this.schedule()
    },
    togglePoints(e) {
      if (this.busy) return
      this.setData({ usePoints: !!e.detail.value })
      this.schedule()
    },
    // Ask for a quote QUOTE_MS after the last change; what was asked before is dropped.
    schedule(delay = QUOTE_MS) {
      if (this.quoteTimer) clearTimeout(this.quoteTimer)
      this.seq += 1
      if (!this.amountFen || this.undiscountedFen < 0) { // no quote for what is refused
        this.quoted = null
        this.setData({ quote: null, stale: false, quoteError: '' })
        return
      }
      const seq = this.seq
      this.setData({ stale: true })
      this.quoteTimer = setTimeout(() => { this.quoteTimer = null; this.fetchQuote(seq) }, delay)
    },
    // Points as cash off take the most the quote allows (points_max, which the coupon
    // changes): a quote without points says how many, a second one uses them.
    fetchQuote(seq) {
      const current = () => seq === this.seq
      const code = this.data.store.code
      const ask = { amount_fen: this.amountFen, coupon: this.data.coupon,
        undiscounted_fen: this.undiscountedFen }
      return api.storeCheckout(code, ask).then((q) => {
        if (!current() || !this.data.usePoints || !q.points_max.points) return q
        return api.storeCheckout(code, Object.assign({}, ask, { points: q.points_max.points }))
      }).then((q) => {
        if (!current()) return
        this.quoted = { amount_fen: q.amount_fen, undiscounted_fen: q.undiscounted_fen,
          coupon: q.coupon ? q.coupon.code : '', points: q.points_used.points }
        this.setData({ quote: quoteView(q), stale: false, quoteError: '', storeError: '',
          'store.name': q.store.name,
          coupons: q.usable_coupons.map((c) => ({ code: c.code, title: c.title,
            saving: yuan(c.saving_fen) })) })
      }, (err) => {
        if (!current()) return
        this.quoted = null
        this.setData({ quote: null, stale: false, quoteError: err.message,
          storeError: err.code === 'STORE_NOT_FOUND' ? STORE_GONE : this.data.storeError })
      })
    },

    // -- paying -------------------------------------------------------------------------
    // One tap at a time. Each tap gets its own Idempotency-Key; a tap after a lost answer
    // (no answer at all) for the same payment sends the same key again, so the server
    // takes the payment once however the taps and the network go.
    pay(e) {
      const payWith = e.currentTarget.dataset.with
      const { quote, stale, store } = this.data
      if (!this.amountFen) {
        this.setData({ touched: true, hint: parseYuan(this.data.amountText).error })
        return Promise.resolve()
      }
      if (this.busy || !quote || stale || !this.quoted) return Promise.resolve()
      if (payWith === 'balance' && quote.short) return Promise.resolve()
      const body = { store_code: store.code, amount_fen: this.quoted.amount_fen }
      if (this.quoted.undiscounted_fen) body.undiscounted_fen = this.quoted.undiscounted_fen
      if (this.quoted.coupon) body.coupon = this.quoted.coupon
      if (this.quoted.points) body.points = this.quoted.points
      body.pay_with = payWith
      const sig = JSON.stringify(body)
      if (!this.attempt || this.attempt.sig !== sig) this.attempt = { sig, key: newKey() }
      this.busy = true
      this.setData({ paying: payWith, state: '', pendingNo: '' })
      return api.payStore(body, this.attempt.key).then((res) => {
        this.attempt = null
        const p = res.payment
        if (p.status === PAID) return this.paid(p)
        if (p.status === 'created' && res.request_payment) return this.payByWeChat(res)
        this.setData({ state: `支付未完成（${p.status_zh}）` })
        return this.schedule(0)
      }, (err) => {
        // No answer: the payment may have been made; the next tap retries this key. Any
        // answer (the API's message was shown) ends the attempt; the quote is asked again.
        if (err.status === 0) return
        this.attempt = null
        this.schedule(0)
      }).catch(() => null)
        .finally(() => {
          this.busy = false
          this.setData({ paying: '' })
        })
    },
    payByWeChat(res) {
      const no = res.payment.out_trade_no
      const gave = res.payment.coupon_saving_fen > 0 || res.payment.points_used.points > 0
      return requestPayment(res.request_payment)
        .then(() => this.waitPaid(no), (err) => {
          const cancelled = /cancel/.test((err && err.errMsg) || '')
          this.setData({ state: cancelled ? '已取消支付' : '支付未完成' })
          // Closed now (not in 15 minutes), giving the coupon and points back, so the member
          // can pay again at once. The cancel asks WeChat Pay first: one paid meanwhile (the
          // cancel answers paid, or 409 PAY_ORDER_NOT_OPEN when the notify came first) is
          // shown as paid instead.
          return api.cancelOrder(no).then(
            (o) => (o && o.status === PAID ? this.waitPaid(no) : this.closed(cancelled, gave)),
            (fail) => {
              if (fail.code === 'PAY_ORDER_NOT_OPEN') return this.waitPaid(no)
              this.setData({ pendingNo: no }) // not known: 查询支付结果
              return this.schedule(0)
            })
        })
    },
    closed(cancelled, gave) {
      const back = gave ? '，优惠券和积分已退回' : ''
      this.setData({ state: (cancelled ? '已取消支付' : '支付未完成，请重试') + back })
      this.schedule(0)
    },
    recheck() {
      const no = this.data.pendingNo
      if (this.busy || !no) return Promise.resolve()
      this.busy = true
      return this.waitPaid(no).finally(() => { this.busy = false })
    },
    // The notify may come after the payment sheet closes: ask until paid, a while.
    async waitPaid(no) {
      this.setData({ state: '正在确认支付结果…', pendingNo: '' })
      for (let i = 0; i < POLLS; i += 1) {
        const res = await api.storePayment(no).catch(() => null)
        const p = res && res.payment
        if (p && p.status === PAID) return this.paid(p)
        if (p && GIVEN_UP.includes(p.status)) {
          this.setData({ state: `支付未完成（${p.status_zh}）` })
          this.schedule(0)
          return null
        }
        await sleep(POLL_MS)
      }
      this.setData({ state: '暂未确认到支付结果，请稍后点「查询支付结果」', pendingNo: no })
      return null
    },
    paid(p) {
      if (this.quoteTimer) clearTimeout(this.quoteTimer)
      this.seq += 1
      this.setData({ view: 'done', result: resultView(p), state: '', pendingNo: '' })
      wx.setNavigationBarTitle && wx.setNavigationBarTitle({ title: '支付成功' })
      this.startClock()
    },

    // -- the result's live clock --------------------------------------------------------
    startClock() {
      this.stopClock()
      const tick = () => this.setData({ clock: clock(new Date()) })
      tick()
      this.clockTimer = setInterval(tick, 1000)
    },
    stopClock() {
      if (this.clockTimer) clearInterval(this.clockTimer)
      this.clockTimer = null
    },
    finish() {
      wx.reLaunch({ url: '/pages/card/card' })
    },
  },
})
