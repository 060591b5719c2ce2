// utils/api.js against the live server and the WeChat sandbox over HTTP, as the pages use
// it. Started by tests/test_miniprogram.py, which makes the server, the sandbox, the member
// (OPENID, CARD_NO, with points) and two gifts, and checks the database afterwards.
const { install } = require('./wx-node')

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set (run through tests/test_miniprogram.py)`)
  return process.env[name]
}

const config = require('../../config.js')
config.baseUrl = env('BASE_URL')
config.sandboxUrl = env('SANDBOX_URL')
config.sandboxOpenid = env('OPENID')
const api = require('../../utils/api.js')
const { newKey } = require('../../utils/keys.js')

const CARD_NO = env('CARD_NO')
const GIFT_ID = Number(env('GIFT_ID'))
const DEAR_GIFT_ID = Number(env('DEAR_GIFT_ID'))
let wx

beforeAll(() => { wx = install() })

test('login by a sandbox code gives the member\'s token', async () => {
  const s = await api.login()
  expect(s.cardNo).toBe(CARD_NO)
  expect(s.token.split('.')).toHaveLength(3)
  expect(s.expiresAt).toBeGreaterThan(Date.now() + 60 * 1000)
})

test('the card has what the card page shows', async () => {
  const card = await api.card()
  expect(card.card_no).toBe(CARD_NO)
  expect(card.tier_name).toMatch(/[\u4e00-\u9fa5]/)
  expect(card.points).toBe(510)
  expect(card.balance_fen).toBe(0)
  expect(card.next_tier).toEqual(expect.objectContaining({ name: expect.any(String),
    remaining_fen: expect.any(Number), progress_percent: expect.any(Number) }))
  expect(Array.isArray(card.expiring)).toBe(true)
})

test('points history pages by next_before', async () => {
  const first = await api.points(undefined, 1)
  expect(first.entries).toHaveLength(1)
  expect(first.next_before).toEqual(expect.any(Number))
  const second = await api.points(first.next_before, 1)
  expect(second.entries).toHaveLength(1)
  expect(second.entries[0].id).toBeLessThan(first.entries[0].id)
  const reasons = [first.entries[0], second.entries[0]].map((e) => e.reason_zh)
  reasons.forEach((r) => expect(r).toMatch(/[\u4e00-\u9fa5]/))
  expect((await api.tiers()).changes).toEqual(expect.any(Array))
})

test('a redemption sent twice with one key redeems once', async () => {
  const gifts = (await api.gifts()).gifts
  expect(gifts.map((g) => g.id)).toEqual(expect.arrayContaining([GIFT_ID, DEAR_GIFT_ID]))
  const key = newKey()
  const [a, b] = await Promise.all([api.redeem(GIFT_ID, 1, key), api.redeem(GIFT_ID, 1, key)])
  expect([a.replayed, b.replayed].sort()).toEqual([false, true])
  expect(a.redemption.id).toBe(b.redemption.id)
  const again = await api.redeem(GIFT_ID, 1, key)
  expect(again.replayed).toBe(true)
  expect(again.points_balance).toBe(500)
  expect((await api.card()).points).toBe(500)
  const mine = await api.redemptions()
  expect(mine.redemptions.filter((r) => r.gift_id === GIFT_ID)).toHaveLength(1)
})

test('a refusal is an ApiError carrying the API\'s Chinese message, shown once', async () => {
  const before = wx.shown.length
  await expect(api.redeem(DEAR_GIFT_ID, 1, newKey())).rejects.toMatchObject({
    status: 409, code: 'INSUFFICIENT_POINTS', message: expect.stringContaining('积分不足') })
  expect(wx.shown.slice(before)).toEqual([expect.stringContaining('积分不足')])
  await expect(api.redeem(GIFT_ID, 1, 'bad key!')).rejects.toMatchObject({
    status: 422, code: 'VALIDATION_FAILED' })
})

test('a token the server refuses is replaced by one new login, and the call goes through', async () => {
  const s = wx.storage.get('wxm_session')
  wx.storage.set('wxm_session', Object.assign({}, s, { token: s.token.slice(0, -4) + 'AAAA' }))
  const card = await api.card()
  expect(card.card_no).toBe(CARD_NO)
  expect(wx.storage.get('wxm_session').token).not.toBe(s.token.slice(0, -4) + 'AAAA')
})

test('the member code, profile, subscriptions, referral, coupons and stored value', async () => {
  const code = await api.memberCode()
  expect(code.code.length).toBeGreaterThan(20)
  expect(code.expires_in).toBeGreaterThan(10)
  // The till resolves the code to this member (what the cashier's scanner does).
  const res = await fetch(config.baseUrl + 'cashier/resolve', { method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Cashier-Key': env('CASHIER_KEY') },
    body: JSON.stringify({ code: code.code }) })
  expect((await res.json()).card_no).toBe(CARD_NO)

  const profile = await api.profile()
  expect(profile.birthday_settable).toBe(true)
  expect((await api.setBirthday('1990-06-15')).birthday).toBe('1990-06-15')
  await expect(api.setBirthday('1991-01-01')).rejects.toMatchObject({ code: 'BIRTHDAY_ALREADY_SET' })
  const phoneCode = await (await fetch(config.sandboxUrl + '_sandbox/phone-code', { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '13800138000' }) })).json()
  expect((await api.setPhone(phoneCode.code)).phone).toMatch(/138/)

  const granted = await api.recordSubscriptions({ tmpl_points_expiry: 'accept', tmpl_other: 'reject' })
  expect(granted.remaining).toEqual({ tmpl_points_expiry: 1 })

  const ref = await api.referralCode()
  expect(ref.scene).toBe('ref_' + CARD_NO)
  expect((await api.referralResults()).referees).toBe(0)

  for (const status of ['available', 'used', 'expired']) {
    const page = await api.coupons(status)
    expect(page.coupons).toEqual(expect.any(Array))
    page.coupons.forEach((c) => expect(c.rules).toEqual(expect.objectContaining({
      kind_zh: expect.any(String), min_spend_fen: expect.any(Number) })))
  }
  const balance = await api.balance()
  expect(balance.balance_fen).toBe(0)
  expect((await api.rechargeOptions()).options).toEqual(expect.any(Array))
})

// 储值充值 as pages/recharge does it, with the sandbox's payer in place of the payment sheet.
async function sandboxPay(outTradeNo) {
  const res = await fetch(config.sandboxUrl + '_sandbox/pay', { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ out_trade_no: outTradeNo }) })
  expect(res.status).toBe(200)
  return res.json()
}

async function pollUntilPaid(outTradeNo) {
  for (let i = 0; i < 20; i += 1) {
    const order = await api.order(outTradeNo)
    if (order.status !== 'created') return order
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return api.order(outTradeNo)
}

test('a recharge paid through the sandbox credits the amount and its bonus', async () => {
  const rung = (await api.rechargeOptions()).options.find((o) => o.bonus_fen > 0)
  expect(rung).toEqual(expect.objectContaining({ amount_fen: expect.any(Number),
    text: expect.stringMatching(/充/) }))
  const before = (await api.card()).balance_fen
  const out = await api.createRecharge({ option_fen: rung.amount_fen })
  expect(out.reused).toBe(false)
  expect(out.order).toMatchObject({ purpose: 'recharge', amount_fen: rung.amount_fen,
    bonus_fen: rung.bonus_fen, status: 'created', status_zh: '待支付', paid_at: null })
  // What the page hands to wx.requestPayment.
  expect(out.payment).toEqual({ appId: expect.any(String), timeStamp: expect.stringMatching(/^\d+$/),
    nonceStr: expect.any(String), package: expect.stringMatching(/^prepay_id=/), signType: 'RSA',
    paySign: expect.any(String) })
  const no = out.order.out_trade_no

  const paid = await sandboxPay(no) // the payer pays; WeChat Pay notifies the app
  expect(paid).toEqual({ notified: true, answer: expect.objectContaining({ status: 204 }) })
  const order = await pollUntilPaid(no)
  expect(order).toMatchObject({ out_trade_no: no, status: 'paid', status_zh: '已支付',
    paid_at: expect.any(String) })
  expect((await api.card()).balance_fen).toBe(before + rung.amount_fen + rung.bonus_fen)
  const balance = await api.balance()
  expect(balance.entries.slice(0, 2).map((e) => e.delta_fen).sort((a, b) => a - b))
    .toEqual([rung.bonus_fen, rung.amount_fen])
  balance.entries.slice(0, 2).forEach((e) => expect(e.order_no).toBe(no))

  // Paid: cancelling is refused with the API's Chinese message, and changes nothing.
  await expect(api.cancelOrder(no)).rejects.toMatchObject({ status: 409,
    code: 'PAY_ORDER_NOT_OPEN', message: expect.stringMatching(/已支付/) })
  expect((await api.card()).balance_fen).toBe(before + rung.amount_fen + rung.bonus_fen)
})

test('a recharge given up is closed at WeChat Pay and credits nothing', async () => {
  const before = (await api.card()).balance_fen
  const out = await api.createRecharge({ amount_fen: 12300 })
  expect(out.order).toMatchObject({ amount_fen: 12300, bonus_fen: 0, status: 'created' })
  const closed = await api.cancelOrder(out.order.out_trade_no)
  expect(closed).toMatchObject({ status: 'closed', status_zh: '已关闭' })
  expect((await api.order(out.order.out_trade_no)).status).toBe('closed')
  expect((await api.card()).balance_fen).toBe(before)
})

// 其他金额 as pages/recharge does it: the text typed read by the page's own helpers, the bonus
// the page shows (the ladder's highest rung reached) equal to the one the server fixes.
test('a typed amount recharges the balance by exactly that amount plus the ladder\'s bonus', async () => {
  const { parseRecharge, rungReached, RECHARGE_LIMITS } = require('../../pages/recharge/views.js')
  const { yuanWords } = require('../../utils/format.js')
  const typed = parseRecharge('700.01')
  expect(typed).toEqual({ fen: 70001 })
  const rung = rungReached((await api.rechargeOptions()).options, typed.fen)
  expect(rung).toEqual(expect.objectContaining({ bonus_fen: expect.any(Number) }))
  expect(rung.bonus_fen).toBeGreaterThan(0) // 充500送50: above a rung, not only on it
  const before = (await api.card()).balance_fen
  const out = await api.createRecharge({ amount_fen: typed.fen })
  expect(out.reused).toBe(false)
  expect(out.order).toMatchObject({ purpose: 'recharge', amount_fen: 70001,
    bonus_fen: rung.bonus_fen, status: 'created', paid_at: null })
  expect(out.payment).toEqual(expect.objectContaining({ package: expect.stringMatching(/^prepay_id=/),
    signType: 'RSA' }))
  const no = out.order.out_trade_no
  expect((await sandboxPay(no)).notified).toBe(true) // the payer pays; the app is notified
  expect(await pollUntilPaid(no)).toMatchObject({ out_trade_no: no, status: 'paid' })
  expect((await api.card()).balance_fen).toBe(before + 70001 + rung.bonus_fen)
  const entries = (await api.balance()).entries.slice(0, 2)
  expect(entries.map((e) => [e.delta_fen, e.order_no]).sort((a, b) => a[0] - b[0]))
    .toEqual([[rung.bonus_fen, no], [70001, no]])

  // The page's limits are the server's: just outside them it refuses with these words.
  const words = `充值金额须在 ${yuanWords(RECHARGE_LIMITS.minFen)} 元至 ` +
    `${yuanWords(RECHARGE_LIMITS.maxFen)} 元之间。`
  for (const fen of [RECHARGE_LIMITS.minFen - 1, RECHARGE_LIMITS.maxFen + 1]) {
    await expect(api.createRecharge({ amount_fen: fen })).rejects.toMatchObject({ status: 400,
      code: 'INVALID_AMOUNT', message: words })
  }
  expect((await api.card()).balance_fen).toBe(before + 70001 + rung.bonus_fen)
})

// 到店买单 as pages/pay does it. STORE_CODE: an open store test_miniprogram.py makes; the
// member has points and the stored value of the recharge above by now.
const STORE_CODE = env('STORE_CODE')

async function pollStorePayment(no) {
  for (let i = 0; i < 20; i += 1) {
    const p = (await api.storePayment(no)).payment
    if (p.status !== 'created') return p
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return (await api.storePayment(no)).payment
}

test('到店买单 from the balance: listed, quoted, paid once per key, read back', async () => {
  const store = (await api.stores()).stores.find((s) => s.code === STORE_CODE)
  expect(store).toEqual({ code: STORE_CODE, name: expect.stringMatching(/[\u4e00-\u9fa5]/),
    city: expect.any(String), address: expect.any(String) })
  const shown = wx.shown.length
  await expect(api.storeCheckout('NO_SUCH_STORE', { amount_fen: 100 })).rejects.toMatchObject({
    status: 404, code: 'STORE_NOT_FOUND', message: '门店不存在或已停业。' })
  expect(wx.shown.length).toBe(shown) // quiet: the page shows it under the amount

  const card = await api.card()
  const q = await api.storeCheckout(STORE_CODE, { amount_fen: 1230 })
  expect(q).toMatchObject({ store: { code: STORE_CODE, name: store.name }, amount_fen: 1230,
    coupon: null, points_used: { points: 0, fen: 0 }, balance_fen: card.balance_fen })
  expect(q.benefit_fen).toBe(q.amount_fen - q.member_fen)
  expect(q.payable_fen).toBe(q.member_fen)
  expect(q.points_max.points).toBeGreaterThan(0)
  const withPoints = await api.storeCheckout(STORE_CODE, { amount_fen: 1230,
    points: q.points_max.points })
  expect(withPoints.points_used).toEqual(q.points_max)
  expect(withPoints.payable_fen).toBe(q.member_fen - q.points_max.fen)

  // Two taps' worth at once with one key: one payment, the other answer replays it.
  const body = { store_code: STORE_CODE, amount_fen: 1230, points: q.points_max.points,
    pay_with: 'balance' }
  const key = newKey()
  const [a, b] = await Promise.all([api.payStore(body, key), api.payStore(body, key)])
  expect([a.replayed, b.replayed].sort()).toEqual([false, true])
  expect(b.payment.out_trade_no).toBe(a.payment.out_trade_no)
  expect(a.request_payment).toBeNull()
  const p = a.payment
  expect(p).toMatchObject({ store: { code: STORE_CODE, name: store.name }, amount_fen: 1230,
    benefit_fen: q.benefit_fen, coupon_saving_fen: 0, points_used: q.points_max,
    payable_fen: withPoints.payable_fen, pay_with: 'balance', status: 'paid',
    status_zh: '已支付', points_earned: withPoints.points_to_earn,
    balance_fen: card.balance_fen - withPoints.payable_fen, paid_at: expect.any(String) })
  expect((await api.storePayment(p.out_trade_no)).payment).toEqual(p)
  expect((await api.payStore(body, key)).replayed).toBe(true)
  const after = await api.card()
  expect(after.balance_fen).toBe(card.balance_fen - withPoints.payable_fen)
  expect(after.points).toBe(card.points - q.points_max.points + withPoints.points_to_earn)

  // More than the stored value: refused with the API's message, nothing written.
  await expect(api.payStore({ store_code: STORE_CODE, amount_fen: 50000000, pay_with: 'balance' },
    newKey())).rejects.toMatchObject({ status: 409, code: 'INSUFFICIENT_BALANCE' })
  expect((await api.card()).balance_fen).toBe(after.balance_fen)
  await expect(api.storePayment('M20990101000000NOPE')).rejects.toMatchObject({ status: 404,
    code: 'PAY_ORDER_NOT_FOUND' })
})

test('到店买单 with 不参与优惠金额: that part gets no benefit, is paid in full and earns', async () => {
  const card = await api.card()
  const rest = await api.storeCheckout(STORE_CODE, { amount_fen: 370 }) // the discountable part
  const q = await api.storeCheckout(STORE_CODE, { amount_fen: 600, undiscounted_fen: 230 })
  expect(q).toMatchObject({ amount_fen: 600, undiscounted_fen: 230,
    member_fen: rest.member_fen + 230, benefit_fen: rest.benefit_fen,
    payable_fen: rest.payable_fen + 230 })
  await expect(api.storeCheckout(STORE_CODE, { amount_fen: 100, undiscounted_fen: 200 }))
    .rejects.toMatchObject({ status: 400, code: 'INVALID_AMOUNT',
      message: '不参与优惠金额不能超过消费金额。' })
  const out = await api.payStore({ store_code: STORE_CODE, amount_fen: 600, undiscounted_fen: 230,
    pay_with: 'balance' }, newKey())
  expect(out.payment).toMatchObject({ amount_fen: 600, undiscounted_fen: 230,
    benefit_fen: q.benefit_fen, payable_fen: q.payable_fen, status: 'paid',
    points_earned: q.points_to_earn, balance_fen: card.balance_fen - q.payable_fen })
})

test('到店买单 by WeChat Pay: paid by the sandbox\'s payer and polled; one given up gives the points back', async () => {
  const before = await api.card()
  const q = await api.storeCheckout(STORE_CODE, { amount_fen: 2000 })
  const out = await api.payStore({ store_code: STORE_CODE, amount_fen: 2000, pay_with: 'wechat' },
    newKey())
  expect(out.payment).toMatchObject({ amount_fen: 2000, payable_fen: q.payable_fen,
    pay_with: 'wechat', status: 'created', status_zh: '待支付', points_earned: null,
    paid_at: null })
  // What the page hands to wx.requestPayment.
  expect(out.request_payment).toEqual({ appId: expect.any(String),
    timeStamp: expect.stringMatching(/^\d+$/), nonceStr: expect.any(String),
    package: expect.stringMatching(/^prepay_id=/), signType: 'RSA', paySign: expect.any(String) })
  const no = out.payment.out_trade_no
  await sandboxPay(no) // the payer pays; WeChat Pay notifies the app
  expect(await pollStorePayment(no)).toMatchObject({ out_trade_no: no, status: 'paid',
    status_zh: '已支付', points_earned: q.points_to_earn, paid_at: expect.any(String) })
  const paid = await api.card()
  expect(paid.balance_fen).toBe(before.balance_fen) // WeChat Pay: the stored value untouched
  expect(paid.points).toBe(before.points + q.points_to_earn)

  // Given up with points on it: held while the order is open, back once it is closed.
  const q2 = await api.storeCheckout(STORE_CODE, { amount_fen: 3000 })
  const open = await api.payStore({ store_code: STORE_CODE, amount_fen: 3000,
    points: q2.points_max.points, pay_with: 'wechat' }, newKey())
  expect(open.payment.status).toBe('created')
  expect((await api.card()).points).toBe(paid.points - q2.points_max.points)
  const closed = await api.cancelOrder(open.payment.out_trade_no)
  expect(closed.status).toBe('closed')
  expect((await api.storePayment(open.payment.out_trade_no)).payment).toMatchObject({
    status: 'closed', status_zh: '已关闭', points_earned: null })
  expect((await api.card()).points).toBe(paid.points)
})
