// 到店买单 (pages/pay): the amount typed in 元 read without float error, the quote as the
// member sees it (an older answer arriving late never shown), paying from the stored value
// or by WeChat Pay, the result with its live clock, the stores to pick from.
const { install, loggedIn, load, render, settle, simulate } = require('./fake-wx')
const { parseYuan } = require('../../utils/format.js')
const { parseUndiscounted } = require('../../pages/pay/views.js')
const api = require('../../utils/api.js')

describe('the amount typed in 元 becomes integer fen', () => {
  test.each([
    ['12.3', 1230], ['0.07', 7], ['19.99', 1999], ['0.1', 10], ['1', 100], ['12.', 1200],
    ['.5', 50], [' 8 ', 800], ['007.10', 710], ['1.10', 110], ['4.35', 435], ['500000', 50000000],
  ])('%j is %i fen', (text, fen) => {
    expect(parseYuan(text)).toEqual({ fen })
  })

  test.each([
    ['1.234', '金额最多两位小数'], ['0', '金额须大于 0'], ['0.00', '金额须大于 0'],
    ['', '请输入金额'], ['   ', '请输入金额'], ['.', '请输入正确的金额'], ['abc', '请输入正确的金额'],
    ['-1', '请输入正确的金额'], ['1e3', '请输入正确的金额'], ['1,000', '请输入正确的金额'],
    ['500000.01', '单笔金额不能超过 500000 元'], ['12345678901234567890', '单笔金额不能超过 500000 元'],
  ])('%j is refused: %s', (text, error) => {
    expect(parseYuan(text)).toEqual({ error })
  })
})

describe('the 不参与优惠金额 typed: nothing or 0 is none, else as the amount, at most the amount', () => {
  test.each([
    ['', 10000, { fen: 0 }], [' ', 10000, { fen: 0 }], ['0', 10000, { fen: 0 }],
    ['0.00', 10000, { fen: 0 }], ['.0', 10000, { fen: 0 }], ['30', 10000, { fen: 3000 }],
    ['4.35', 10000, { fen: 435 }], ['100', 10000, { fen: 10000 }],
    ['100.01', 10000, { error: '不参与优惠金额不能超过消费金额' }],
    ['1.234', 10000, { error: '金额最多两位小数' }], ['abc', 10000, { error: '请输入正确的金额' }],
    ['-1', 10000, { error: '请输入正确的金额' }], ['30', 0, { fen: 3000 }], // no amount yet
  ])('%j with an amount of %i fen is %j', (text, amountFen, parsed) => {
    expect(parseUndiscounted(text, amountFen)).toEqual(parsed)
  })
})

describe('utils/api.js asks the four 到店买单 endpoints as the contract says', () => {
  test('paths, the quote\'s query, the payment\'s body and Idempotency-Key', async () => {
    const wx = install({
      'GET stores': () => ({ data: { stores: [] } }),
      'GET stores/S%201/checkout': () => ({ data: { ok: 1 } }), // the code URL-encoded
      'POST me/store-payments': () => ({ data: { ok: 2 } }),
      'GET me/store-payments/M1': () => ({ data: { ok: 3 } }),
    })
    loggedIn(wx)
    await api.stores()
    await api.storeCheckout('S 1', { amount_fen: 1230 })
    await api.storeCheckout('S 1', { amount_fen: 1230, coupon: 'C9', points: 300 })
    await api.storeCheckout('S 1', { amount_fen: 1230, undiscounted_fen: 230 })
    await api.storeCheckout('S 1', { amount_fen: 1230, undiscounted_fen: 0 })
    await api.payStore({ store_code: 'S01', amount_fen: 1230, pay_with: 'balance' }, 'key-1')
    await api.storePayment('M1')
    expect(wx.requests.map((r) => `${r.method} ${r.url.replace(/^.*\/api\//, '')}`)).toEqual([
      'GET stores', 'GET stores/S%201/checkout?amount_fen=1230',
      'GET stores/S%201/checkout?amount_fen=1230&coupon=C9&points=300',
      'GET stores/S%201/checkout?amount_fen=1230&undiscounted_fen=230',
      'GET stores/S%201/checkout?amount_fen=1230',
      'POST me/store-payments', 'GET me/store-payments/M1'])
    expect(wx.requests[5].data).toEqual({ store_code: 'S01', amount_fen: 1230, pay_with: 'balance' })
    expect(wx.requests[5].header['Idempotency-Key']).toBe('key-1')
    expect(wx.requests.every((r) => r.header.Authorization === 'Bearer token-1')).toBe(true)
  })

  test('a refused quote is quiet (the page shows it); a refused payment is shown', async () => {
    const wx = install({
      'GET stores/S09/checkout': () => ({ status: 404, data: { code: 'STORE_NOT_FOUND',
        message: '门店不存在或已停业。' } }),
      'POST me/store-payments': () => ({ status: 409, data: { code: 'INSUFFICIENT_BALANCE',
        message: '储值余额不足。' } }),
    })
    loggedIn(wx)
    await expect(api.storeCheckout('S09', { amount_fen: 100 })).rejects.toMatchObject({
      status: 404, code: 'STORE_NOT_FOUND', message: '门店不存在或已停业。' })
    expect(wx.dialogs).toEqual([])
    await expect(api.payStore({}, 'k')).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE' })
    expect(wx.dialogs.map((d) => d.content)).toEqual(['储值余额不足。'])
  })
})

// -- the page ---------------------------------------------------------------------------
const STORES = { stores: [
  { code: 'S01', name: '静安店', city: '上海', address: '南京西路 1 号' },
  { code: 'S02', name: '徐汇店', city: '上海', address: '漕溪北路 2 号' }] }
const QUOTE_WAIT = 350 // the page asks 300 ms after the last change

const params = (req) => Object.fromEntries(new URL(req.url).searchParams)

// GET stores/{code}/checkout as the contract answers it: 金卡 95 折, one coupon 满50减10
// usable from 50 元, up to 3000 points (1 point = 1 fen) after the coupon; the 不参与优惠
// part (undiscounted_fen) gets none of them and is added to what is paid.
function quoteOf(req, balanceFen = 20000) {
  const code = req.path.split('/')[1]
  const q = params(req)
  const amount = Number(q.amount_fen)
  const plain = Number(q.undiscounted_fen || 0)
  const discounted = Math.round((amount - plain) * 0.95)
  const member = discounted + plain
  const usable = discounted >= 5000 ? [{ code: 'C10', title: '满50减10', saving_fen: 1000 }] : []
  const coupon = q.coupon ? usable.find((c) => c.code === q.coupon) : null
  if (q.coupon && !coupon) {
    return { status: 400, data: { code: 'COUPON_MIN_SPEND', message: '未达到优惠券使用门槛。' } }
  }
  const afterCoupon = discounted - (coupon ? coupon.saving_fen : 0)
  const max = Math.min(3000, afterCoupon)
  const used = Number(q.points || 0)
  const payable = afterCoupon - used + plain
  return { data: { store: { code, name: code === 'S01' ? '静安店' : '徐汇店' },
    amount_fen: amount, undiscounted_fen: plain, member_fen: member,
    benefit_fen: amount - member, benefit: '金卡 95 折',
    coupon: coupon || null, usable_coupons: usable, points_max: { points: max, fen: max },
    points_used: { points: used, fen: used }, payable_fen: payable,
    points_to_earn: Math.floor(payable / 100), balance_fen: balanceFen } }
}

const PAYMENT = (over) => Object.assign({ out_trade_no: 'M20261203063000ABCD',
  store: { code: 'S01', name: '静安店' }, amount_fen: 10000, undiscounted_fen: 0, benefit_fen: 500,
  coupon_saving_fen: 0, points_used: { points: 0, fen: 0 }, payable_fen: 9500,
  pay_with: 'balance', status: 'paid', status_zh: '已支付', points_earned: 95,
  balance_fen: 10500, created_at: '2026-12-03T06:30:00Z', paid_at: '2026-12-03T06:30:15Z' }, over)
const REQUEST_PAYMENT = { appId: 'wxmini', timeStamp: '1764743400', nonceStr: 'n0nce',
  package: 'prepay_id=wx03063000abcdef', signType: 'RSA', paySign: 'c2lnbmF0dXJl' }

let page
const shown = []
beforeAll(() => { page = load('pages/pay/pay') })
afterEach(() => { shown.splice(0).forEach((c) => c.instance.onUnload()) }) // no clock left ticking

async function payPage(routes, options = { store: 'S01' }) {
  const wx = install(Object.assign({ 'GET stores': () => ({ data: STORES }),
    'GET stores/S01/checkout': (req) => quoteOf(req),
    'GET stores/S02/checkout': (req) => quoteOf(req) }, routes))
  loggedIn(wx)
  const comp = render(page)
  shown.push(comp)
  await comp.instance.onLoad(options)
  await settle()
  return { wx, comp }
}

const text = (comp) => comp.dom.textContent.replace(/\s+/g, '')
const quotes = (wx) => wx.requests.filter((r) => /checkout$/.test(r.path))
const payments = (wx) => wx.requests.filter((r) => r.path === 'me/store-payments')

async function type(comp, value, wait = true) {
  comp.querySelector('.amount').dispatchEvent('input', { detail: { value } })
  if (wait) {
    await simulate.sleep(QUOTE_WAIT)
    await settle()
  }
}

async function tap(comp, selector, index = 0) {
  comp.querySelectorAll(selector)[index].dispatchEvent('tap')
  await simulate.sleep(QUOTE_WAIT)
  await settle(20)
}

test('the quote shows the benefit, a chosen coupon, points as cash off, payable and balance', async () => {
  const { wx, comp } = await payPage({})
  expect(comp.querySelector('.store-name').dom.textContent).toBe('静安店')
  await type(comp, '1', false) // typed quickly: one quote, for the last
  await type(comp, '10', false)
  await type(comp, '100')
  expect(quotes(wx).map((r) => params(r))).toEqual([{ amount_fen: '10000' }])
  let t = text(comp)
  expect(t).toContain('会员优惠金卡95折-¥5.00')
  expect(t).toContain('实付¥95.00')
  expect(t).toContain('预计获得积分95')
  expect(t).toContain('储值余额¥200.00')
  expect(t).toContain('积分抵现3000积分抵¥30.00')
  expect(t).toContain('不使用优惠券')
  expect(t).toContain('满50减10省¥10.00')
  expect(comp.querySelector('.pay-balance').dom.textContent).toBe('储值支付')

  await tap(comp, '.coupon', 1) // 满50减10
  t = text(comp)
  expect(comp.querySelector('.coupon-saving').dom.textContent).toBe('-¥10.00')
  expect(t).toContain('优惠券满50减10-¥10.00')
  expect(t).toContain('实付¥85.00')

  comp.querySelector('.points-switch').dispatchEvent('change', { detail: { value: true } })
  await simulate.sleep(QUOTE_WAIT)
  await settle(20)
  t = text(comp)
  expect(t).toContain('积分抵现3000积分-¥30.00')
  expect(t).toContain('实付¥55.00')
  expect(t).toContain('预计获得积分55')
  expect(quotes(wx).slice(1).map((r) => params(r))).toEqual([
    { amount_fen: '10000', coupon: 'C10' },
    { amount_fen: '10000', coupon: 'C10' }, // how many points the coupon leaves, then using them
    { amount_fen: '10000', coupon: 'C10', points: '3000' }])

  await tap(comp, '.coupon', 0) // 不使用优惠券: the points stay on, at their new most
  expect(text(comp)).toContain('实付¥65.00')
})

test('an amount with more than 2 decimals, or 0, is refused with a hint and asks nothing', async () => {
  const { wx, comp } = await payPage({})
  expect(text(comp)).not.toContain('请输入金额') // nothing typed yet: no hint
  await tap(comp, '.pay-wechat')
  expect(text(comp)).toContain('请输入金额')
  await type(comp, '1.234')
  expect(text(comp)).toContain('金额最多两位小数')
  await type(comp, '0')
  expect(text(comp)).toContain('金额须大于0')
  expect(text(comp)).not.toContain('实付')
  await type(comp, '19.99')
  expect(text(comp)).not.toContain('金额须大于0')
  expect(quotes(wx).map((r) => params(r).amount_fen)).toEqual(['1999'])
  expect(text(comp)).toContain('实付¥18.99') // 1999 × 0.95 = 1899.05 → 1899
  await type(comp, '')
  expect(text(comp)).toContain('请输入金额')
  expect(text(comp)).not.toContain('实付')
  expect(payments(wx)).toEqual([])
})

test('an older quote answering after a newer one is not shown', async () => {
  const { wx, comp } = await payPage({})
  wx.hold = true
  await type(comp, '100')
  await type(comp, '200')
  expect(wx.held).toHaveLength(2)
  wx.hold = false
  const [older, newer] = wx.held.splice(0)
  newer()
  await settle()
  expect(text(comp)).toContain('实付¥190.00')
  older() // the answer for 100 元, late
  await settle()
  expect(text(comp)).toContain('实付¥190.00')
  expect(text(comp)).not.toContain('¥95.00')
})

test('a quote refused (a coupon no longer usable) shows the API message, and paying waits', async () => {
  const { wx, comp } = await payPage({})
  await type(comp, '100')
  await tap(comp, '.coupon', 1)
  await type(comp, '20') // 19 元 after the benefit: under the coupon's 50
  expect(text(comp)).toContain('未达到优惠券使用门槛。')
  expect(text(comp)).not.toContain('实付')
  expect(wx.dialogs).toEqual([])
  await tap(comp, '.pay-wechat')
  expect(payments(wx)).toEqual([])
  await tap(comp, '.coupon', 0)
  expect(text(comp)).toContain('实付¥19.00')
})

test('a balance payment posts the exact body with a key and shows the result', async () => {
  const { wx, comp } = await payPage({ 'POST me/store-payments': (req) => ({ data: {
    payment: PAYMENT({ coupon_saving_fen: 1000, points_used: { points: 3000, fen: 3000 },
      payable_fen: 5500, points_earned: 55, balance_fen: 14500 }),
    request_payment: null, replayed: false } }) })
  await type(comp, '100')
  await tap(comp, '.coupon', 1)
  comp.querySelector('.points-switch').dispatchEvent('change', { detail: { value: true } })
  await simulate.sleep(QUOTE_WAIT)
  await settle(20)
  await tap(comp, '.pay-balance')
  const sent = payments(wx)
  expect(sent).toHaveLength(1)
  expect(sent[0].method).toBe('POST')
  expect(sent[0].data).toEqual({ store_code: 'S01', amount_fen: 10000, coupon: 'C10',
    points: 3000, pay_with: 'balance' })
  expect(sent[0].header['Idempotency-Key']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  const t = text(comp)
  expect(t).toContain('支付成功')
  expect(t).toContain('门店静安店')
  expect(t).toContain('消费金额¥100.00')
  expect(t).toContain('优惠-¥45.00')
  expect(t).toContain('实付¥55.00')
  expect(t).toContain('支付方式储值支付')
  expect(t).toContain('获得积分55')
  expect(t).toContain('储值余额¥145.00')
  expect(t).toContain('请向店员出示此页面')
  const local = new Date('2026-12-03T06:30:15Z')
  const two = (n) => String(n).padStart(2, '0')
  expect(comp.querySelector('.result-paid-at').dom.textContent).toBe(`2026-${two(local.getMonth() + 1)}-` +
    `${two(local.getDate())} ${two(local.getHours())}:30:15`)
  expect(comp.querySelector('.clock').dom.textContent).toMatch(/^\d\d:\d\d:\d\d$/)
  expect(wx.dialogs).toEqual([])
})

test('储值支付 is refused with 余额不足 when the balance is under the payable', async () => {
  const { wx, comp } = await payPage({
    'GET stores/S01/checkout': (req) => quoteOf(req, 5000),
    'POST me/store-payments': () => ({ data: { payment: PAYMENT(), request_payment: null } }),
  })
  await type(comp, '100')
  expect(comp.querySelector('.pay-balance').dom.textContent).toBe('储值支付（余额不足）')
  await tap(comp, '.pay-balance')
  expect(payments(wx)).toEqual([])
  expect(text(comp)).not.toContain('支付成功')
  await type(comp, '50') // 47.50 payable: the balance is enough now
  expect(comp.querySelector('.pay-balance').dom.textContent).toBe('储值支付')
})

test('one tap at a time; a lost answer is retried with the same key, a new payment gets a new one', async () => {
  let lose = true
  const { wx, comp } = await payPage({ 'POST me/store-payments': () => (lose ? 'network'
    : { status: 409, data: { code: 'INSUFFICIENT_BALANCE', message: '储值余额不足。' } }) })
  await type(comp, '100')
  wx.hold = true
  comp.querySelector('.pay-balance').dispatchEvent('tap')
  comp.querySelector('.pay-balance').dispatchEvent('tap') // the same tap, twice
  await settle()
  expect(payments(wx)).toHaveLength(1)
  wx.release() // no answer: maybe paid, maybe not
  await settle(20)
  expect(wx.dialogs.map((d) => d.content)).toEqual(['网络连接失败，请检查网络后重试。'])
  lose = false
  await tap(comp, '.pay-balance') // the same payment again: the same key
  await tap(comp, '.pay-balance') // answered: the next tap is a new payment
  const keys = payments(wx).map((r) => r.header['Idempotency-Key'])
  expect(keys).toHaveLength(3)
  expect(keys[1]).toBe(keys[0])
  expect(keys[2]).not.toBe(keys[0])
  expect(wx.dialogs.map((d) => d.content).slice(1)).toEqual(['储值余额不足。', '储值余额不足。'])
})

// The pauses between polls (1.5 s) skipped; the 300 ms quote wait kept.
function fastPolls() {
  const timers = global.setTimeout
  global.setTimeout = (f, ms) => timers(f, ms >= 1000 ? 0 : ms)
  return () => { global.setTimeout = timers }
}

test('WeChat Pay: wx.requestPayment gets the answer\'s fields, then the payment is polled until paid', async () => {
  let polls = 0
  const { wx, comp } = await payPage({
    'POST me/store-payments': () => ({ data: { payment: PAYMENT({ pay_with: 'wechat',
      status: 'created', status_zh: '待支付', points_earned: null, balance_fen: null,
      paid_at: null }), request_payment: REQUEST_PAYMENT, replayed: false } }),
    'GET me/store-payments/M20261203063000ABCD': () => {
      polls += 1
      return { data: { payment: polls > 2 ? PAYMENT({ pay_with: 'wechat', balance_fen: 20000 })
        : PAYMENT({ pay_with: 'wechat', status: 'created', status_zh: '待支付',
          points_earned: null, balance_fen: null, paid_at: null }) } }
    },
  })
  const paid = []
  global.wx.requestPayment = (opts) => { paid.push(opts); setTimeout(() => opts.success({}), 0) }
  await type(comp, '100')
  const restore = fastPolls()
  try {
    await tap(comp, '.pay-wechat')
    await settle(40)
  } finally {
    restore()
  }
  expect(payments(wx)[0].data).toEqual({ store_code: 'S01', amount_fen: 10000, pay_with: 'wechat' })
  expect(paid).toHaveLength(1)
  expect(paid[0]).toMatchObject({ timeStamp: '1764743400', nonceStr: 'n0nce',
    package: 'prepay_id=wx03063000abcdef', signType: 'RSA', paySign: 'c2lnbmF0dXJl' })
  expect(polls).toBe(3)
  const t = text(comp)
  expect(t).toContain('支付成功')
  expect(t).toContain('支付方式微信支付')
  expect(t).toContain('获得积分95')
  expect(t).toContain('实付¥95.00')
})

test('a cancelled payment sheet cancels the order, says so and asks the quote again', async () => {
  const { wx, comp } = await payPage({
    'POST me/store-payments': () => ({ data: { payment: PAYMENT({ pay_with: 'wechat',
      out_trade_no: 'M2', status: 'created', status_zh: '待支付', coupon_saving_fen: 1000,
      payable_fen: 8500, points_earned: null, balance_fen: null, paid_at: null }),
    request_payment: REQUEST_PAYMENT, replayed: false } }),
    'POST me/orders/M2/cancel': () => ({ data: { out_trade_no: 'M2', status: 'closed',
      status_zh: '已关闭' } }),
  })
  global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg: 'requestPayment:fail cancel' }), 0)
  await type(comp, '100')
  await tap(comp, '.coupon', 1)
  const asked = quotes(wx).length
  await tap(comp, '.pay-wechat')
  expect(wx.requests.filter((r) => r.path.startsWith('me/')).map((r) => r.method + ' ' + r.path))
    .toEqual(['POST me/store-payments', 'POST me/orders/M2/cancel'])
  expect(text(comp)).toContain('已取消支付，优惠券和积分已退回')
  expect(text(comp)).not.toContain('支付成功')
  expect(quotes(wx).length).toBe(asked + 1) // the coupon is back: a fresh quote
  expect(wx.dialogs).toEqual([])
})

test('a payment WeChat Pay failed stops the polling with its Chinese status', async () => {
  let polls = 0
  const { comp } = await payPage({
    'POST me/store-payments': () => ({ data: { payment: PAYMENT({ out_trade_no: 'M5',
      pay_with: 'wechat', status: 'created', status_zh: '待支付', points_earned: null,
      balance_fen: null, paid_at: null }), request_payment: REQUEST_PAYMENT, replayed: false } }),
    'GET me/store-payments/M5': () => { polls += 1; return { data: { payment: PAYMENT({
      out_trade_no: 'M5', pay_with: 'wechat', status: 'failed', status_zh: '支付失败',
      points_earned: null, balance_fen: null, paid_at: null }) } } },
  })
  global.wx.requestPayment = (opts) => setTimeout(() => opts.success({}), 0)
  await type(comp, '100')
  await tap(comp, '.pay-wechat')
  expect(polls).toBe(1)
  expect(text(comp)).toContain('支付未完成（支付失败）')
  expect(text(comp)).not.toContain('支付成功')
})

test('a sheet that failed closes the order too; a cancel finding it paid shows the result', async () => {
  const created = (no) => ({ data: { payment: PAYMENT({ pay_with: 'wechat', out_trade_no: no,
    status: 'created', status_zh: '待支付', points_earned: null, balance_fen: null, paid_at: null }),
  request_payment: REQUEST_PAYMENT, replayed: false } })
  let no = 'M3'
  const { wx, comp } = await payPage({
    'POST me/store-payments': () => created(no),
    'POST me/orders/M3/cancel': () => ({ data: { out_trade_no: 'M3', status: 'closed', status_zh: '已关闭' } }),
    'POST me/orders/M4/cancel': () => ({ status: 409, data: { code: 'PAY_ORDER_NOT_OPEN',
      message: '订单已支付或已关闭。' } }),
    'GET me/store-payments/M4': () => ({ data: { payment: PAYMENT({ out_trade_no: 'M4',
      pay_with: 'wechat' }) } }), // the notify came first: paid
  })
  let errMsg = 'requestPayment:fail system error'
  global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg }), 0)
  await type(comp, '100')
  await tap(comp, '.pay-wechat')
  expect(text(comp)).toContain('支付未完成，请重试')
  no = 'M4'
  errMsg = 'requestPayment:fail cancel'
  await tap(comp, '.pay-wechat')
  expect(wx.requests.filter((r) => r.path.startsWith('me/')).map((r) => r.method + ' ' + r.path))
    .toEqual(['POST me/store-payments', 'POST me/orders/M3/cancel', 'POST me/store-payments',
      'POST me/orders/M4/cancel', 'GET me/store-payments/M4'])
  expect(text(comp)).toContain('支付成功')
  expect(text(comp)).not.toContain('已取消支付')
  expect(wx.dialogs).toEqual([]) // the 409 is expected here, not an error to show
})

test('the result\'s clock ticks every second and stops while the page is hidden', async () => {
  jest.useFakeTimers({ doNotFake: ['setTimeout', 'clearTimeout', 'setImmediate',
    'clearImmediate', 'nextTick', 'queueMicrotask'], now: new Date(2026, 11, 3, 14, 30, 5) })
  try {
    const { comp } = await payPage({ 'POST me/store-payments': () => ({ data: {
      payment: PAYMENT(), request_payment: null, replayed: false } }) })
    await type(comp, '100')
    await tap(comp, '.pay-balance')
    const clock = () => comp.querySelector('.clock').dom.textContent
    expect(clock()).toBe('14:30:05')
    jest.advanceTimersByTime(1000)
    expect(clock()).toBe('14:30:06')
    jest.advanceTimersByTime(2000)
    expect(clock()).toBe('14:30:08')
    comp.instance.onHide()
    jest.advanceTimersByTime(5000)
    expect(clock()).toBe('14:30:08')
    expect(jest.getTimerCount()).toBe(0)
    comp.instance.onShow() // back: the clock is the time now, and ticks again
    expect(clock()).toBe('14:30:13')
    jest.advanceTimersByTime(1000)
    expect(clock()).toBe('14:30:14')
    comp.instance.onUnload()
    expect(jest.getTimerCount()).toBe(0)
  } finally {
    jest.useRealTimers()
  }
})

test('without a store the open stores are listed; the one picked is quoted', async () => {
  const { wx, comp } = await payPage({}, {})
  const rows = comp.querySelectorAll('.store').map((c) => c.dom.textContent.replace(/\s+/g, ''))
  expect(rows).toEqual(['静安店上海南京西路1号', '徐汇店上海漕溪北路2号'])
  await tap(comp, '.store', 1)
  expect(comp.querySelector('.store-name').dom.textContent).toBe('徐汇店')
  await type(comp, '12.3')
  expect(quotes(wx).map((r) => r.path + ' ' + params(r).amount_fen)).toEqual(['stores/S02/checkout 1230'])
  expect(text(comp)).toContain('实付¥11.69')
})

test('a store\'s mini-program code opens the page by its scene; a closed store says so', async () => {
  let { wx, comp } = await payPage({}, { scene: encodeURIComponent('S02') })
  expect(comp.querySelector('.store-name').dom.textContent).toBe('徐汇店')
  await type(comp, '10')
  expect(quotes(wx).map((r) => r.path)).toEqual(['stores/S02/checkout'])
  ;({ wx, comp } = await payPage({}, { store: 'S99' }))
  expect(text(comp)).toContain('门店不存在或已停业。')
})

test('the scene of a store\'s code is the pay page\'s, not a launch scene for the login', () => {
  const wx = install({})
  let app
  global.App = (def) => { app = def }
  jest.isolateModules(() => require('../../app.js'))
  app.onLaunch({ path: 'pages/pay/pay', query: { scene: 'S01' } })
  expect(wx.storage.has('wxm_launch_scene')).toBe(false)
  app.onLaunch({ path: 'pages/login/login', query: { scene: encodeURIComponent('ref_80000005678') } })
  expect(wx.storage.get('wxm_launch_scene')).toBe('ref_80000005678')
})

test('不参与优惠金额: revealed by its link, quoted and paid with, more than the amount refused', async () => {
  const { wx, comp } = await payPage({ 'POST me/store-payments': (req) => ({ data: {
    payment: PAYMENT({ undiscounted_fen: 3000, benefit_fen: 350, coupon_saving_fen: 1000,
      payable_fen: 8650, points_earned: 86, balance_fen: 11350 }),
    request_payment: null, replayed: false } }) })
  await type(comp, '100')
  expect(comp.querySelector('.undiscounted')).toBeUndefined()
  expect(text(comp)).toContain('输入不参与优惠金额')
  await tap(comp, '.undiscounted-toggle')
  const typeUndiscounted = async (value) => {
    comp.querySelector('.undiscounted').dispatchEvent('input', { detail: { value } })
    await simulate.sleep(QUOTE_WAIT)
    await settle()
  }
  await typeUndiscounted('120')
  expect(text(comp)).toContain('不参与优惠金额不能超过消费金额')
  expect(text(comp)).not.toContain('实付')
  expect(quotes(wx).map((r) => params(r).undiscounted_fen)).toEqual([undefined])
  await typeUndiscounted('30')
  expect(text(comp)).not.toContain('不能超过消费金额')
  expect(params(quotes(wx).pop())).toEqual({ amount_fen: '10000', undiscounted_fen: '3000' })
  // 70 元 × 0.95 = 66.50 (≥ 满50: the coupon is offered on it) + 30 = 96.50
  expect(text(comp)).toContain('其中不参与优惠¥30.00')
  expect(text(comp)).toContain('实付¥96.50')
  await tap(comp, '.coupon', 1)
  expect(text(comp)).toContain('实付¥86.50')
  await type(comp, '20') // now more than the amount: the hint, no quote
  expect(text(comp)).toContain('不参与优惠金额不能超过消费金额')
  expect(text(comp)).not.toContain('实付')
  await type(comp, '100')
  await tap(comp, '.pay-balance')
  expect(payments(wx)[0].data).toEqual({ store_code: 'S01', amount_fen: 10000,
    undiscounted_fen: 3000, coupon: 'C10', pay_with: 'balance' })
  const t = text(comp)
  expect(t).toContain('支付成功')
  expect(t).toContain('不参与优惠¥30.00')
  expect(t).toContain('实付¥86.50')
})

test('不参与优惠金额 hidden again is none: the quote and the payment leave it out', async () => {
  const { wx, comp } = await payPage({ 'POST me/store-payments': () => ({ data: {
    payment: PAYMENT(), request_payment: null, replayed: false } }) })
  await type(comp, '100')
  await tap(comp, '.undiscounted-toggle')
  comp.querySelector('.undiscounted').dispatchEvent('input', { detail: { value: '30' } })
  await simulate.sleep(QUOTE_WAIT)
  await settle()
  expect(text(comp)).toContain('实付¥96.50')
  await tap(comp, '.undiscounted-toggle')
  expect(comp.querySelector('.undiscounted')).toBeUndefined()
  expect(params(quotes(wx).pop())).toEqual({ amount_fen: '10000' })
  expect(text(comp)).toContain('实付¥95.00')
  expect(text(comp)).not.toContain('其中不参与优惠')
  await tap(comp, '.pay-balance')
  expect(payments(wx)[0].data).toEqual({ store_code: 'S01', amount_fen: 10000,
    pay_with: 'balance' })
  expect(text(comp)).not.toContain('不参与优惠¥')
})
