// 其他金额 on the recharge page (pages/recharge): an amount typed in 元 read as integer fen
// within the API's limits (1 元 to 500,000 元), the bonus the ladder gives it shown before
// paying, the pay button disabled until the amount is right, and the same WeChat Pay flow
// as a rung with {amount_fen} in place of {option_fen}.
const { install, loggedIn, load, render, settle } = require('./fake-wx')
const { payOrder, checkout } = require('./api-shapes')
const { parseRecharge, rungReached, otherView } = require('../../pages/recharge/views.js')

const LADDER = [{ amount_fen: 50000, bonus_fen: 5000, text: '充500送50' },
  { amount_fen: 100000, bonus_fen: 12000, text: '充1000送120' }]

describe('an amount of one\'s own is read as integer fen within the recharge limits', () => {
  test.each([
    ['1', 100], ['19.99', 1999], ['1.07', 107], ['700.01', 70001],
    ['12.3', 1230], ['4.35', 435], ['500000', 50000000], ['500000.00', 50000000], [' 88 ', 8800],
  ])('%j is %i fen', (text, fen) => {
    expect(parseRecharge(text)).toEqual({ fen })
  })

  test.each([
    ['', '请输入金额'], ['0', '金额须大于 0'], ['0.00', '金额须大于 0'],
    ['1.234', '金额最多两位小数'], ['0.5', '单笔金额不能低于 1 元'], ['0.99', '单笔金额不能低于 1 元'],
    ['500000.01', '单笔金额不能超过 500000 元'], ['9999999', '单笔金额不能超过 500000 元'],
    ['abc', '请输入正确的金额'], ['-5', '请输入正确的金额'],
  ])('%j is refused: %s', (text, error) => {
    expect(parseRecharge(text)).toEqual({ error })
  })
})

describe('the bonus is the highest rung the amount reaches, equal included', () => {
  test.each([
    [49999, null], [50000, '充500送50'], [70001, '充500送50'], [99999, '充500送50'],
    [100000, '充1000送120'], [50000000, '充1000送120'],
  ])('%i fen: %s', (fen, text) => {
    const rung = rungReached(LADDER, fen)
    expect(rung ? rung.text : null).toBe(text)
  })

  test('shown with the amount credited in all', () => {
    expect(otherView('700.01', LADDER)).toEqual({ otherFen: 70001, otherHint: '',
      otherYuan: '700.01', otherBonus: '50.00', otherRung: '充500送50', otherTotal: '750.01' })
    expect(otherView('300', LADDER)).toMatchObject({ otherFen: 30000, otherBonus: '',
      otherTotal: '300.00' })
    expect(otherView('300', [])).toMatchObject({ otherFen: 30000, otherBonus: '' })
    expect(otherView('0.5', LADDER)).toMatchObject({ otherFen: 0, otherHint: '单笔金额不能低于 1 元' })
  })
})

const balance = (fen) => ({ data: { balance_fen: fen, entries: [], next_before: null } })
const text = (comp) => comp.dom.textContent.replace(/\s+/g, '')
const recharges = (wx) => wx.requests.filter((r) => r.path === 'me/recharges')

async function open(routes) {
  const page = load('pages/recharge/recharge')
  const wx = install(Object.assign({
    'GET recharge/options': () => ({ data: { options: LADDER } }),
    'GET me/balance': () => balance(0),
  }, routes))
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  return { wx, comp }
}

async function chooseOther(comp) {
  comp.querySelector('.option-other').dispatchEvent('tap')
  await settle()
}

async function type(comp, value) {
  comp.querySelector('.other-amount').dispatchEvent('input', { detail: { value } })
  await settle()
}

const hint = (comp) => { const h = comp.querySelector('.other-hint'); return h ? h.dom.textContent : '' }
const off = (comp) => comp.querySelector('.pay-other').dom.className.includes('pay-other--off')

// The poll's pause (1.5 s) skipped; everything else as it is.
function fastTimers() {
  const timers = global.setTimeout
  global.setTimeout = (f, ms) => timers(f, ms >= 1000 ? 0 : ms)
  return () => { global.setTimeout = timers }
}

test('其他金额 opens a 元 field; wrong amounts are refused under it and cannot be paid', async () => {
  const { wx, comp } = await open()
  expect(comp.querySelector('.other-amount')).toBeFalsy() // the rungs first
  expect(text(comp)).toContain('其他金额')
  await chooseOther(comp)
  expect(comp.querySelector('.other-amount')).toBeTruthy()
  expect(hint(comp)).toBe('') // nothing typed yet: no hint, but no paying either
  expect(off(comp)).toBe(true)
  for (const [typed, error] of [['0', '金额须大于 0'], ['1.234', '金额最多两位小数'],
    ['0.5', '单笔金额不能低于 1 元'], ['500000.01', '单笔金额不能超过 500000 元'],
    ['', '请输入金额'], ['1..2', '请输入正确的金额']]) {
    await type(comp, typed)
    expect([typed, hint(comp)]).toEqual([typed, error])
    expect(off(comp)).toBe(true)
    expect(comp.querySelector('.other-bonus')).toBeFalsy()
    comp.querySelector('.pay-other').dispatchEvent('tap') // disabled; a tap anyway sends nothing
    await settle()
  }
  expect(recharges(wx)).toEqual([])
  await type(comp, '88')
  expect(hint(comp)).toBe('')
  expect(off(comp)).toBe(false)
  expect(comp.querySelector('.pay-other').dom.textContent).toBe('充值 ¥88.00')
  expect(comp.querySelector('.other-bonus').dom.textContent).toBe('到账 ¥88.00') // below every rung
})

test('the bonus the ladder gives is shown before paying: a rung reached, equal or above', async () => {
  const { comp } = await open()
  await chooseOther(comp)
  const bonus = () => comp.querySelector('.other-bonus').dom.textContent
  await type(comp, '499.99')
  expect(bonus()).toBe('到账 ¥499.99')
  await type(comp, '500')
  expect(bonus()).toBe('赠送 ¥50.00（充500送50），共到账 ¥550.00')
  await type(comp, '700.01')
  expect(bonus()).toBe('赠送 ¥50.00（充500送50），共到账 ¥750.01')
  await type(comp, '1000')
  expect(bonus()).toBe('赠送 ¥120.00（充1000送120），共到账 ¥1120.00')
})

test('paying a typed amount sends {amount_fen}, pays with the answer and polls until paid', async () => {
  let polls = 0
  let paidYet = false
  const { wx, comp } = await open({
    'GET me/balance': () => balance(paidYet ? 75001 : 0),
    'POST me/recharges': () => checkout('R20261202080000ABCD0001', 70001, 5000),
    'GET me/orders/R20261202080000ABCD0001': () => {
      polls += 1
      paidYet = polls > 1
      return { data: payOrder('R20261202080000ABCD0001', paidYet ? 'paid' : 'created', 70001, 5000) }
    },
  })
  const paid = []
  global.wx.requestPayment = (opts) => { paid.push(opts); setTimeout(() => opts.success({}), 0) }
  const restore = fastTimers()
  try {
    await chooseOther(comp)
    await type(comp, '700.01')
    comp.querySelector('.pay-other').dispatchEvent('tap')
    comp.querySelector('.pay-other').dispatchEvent('tap') // a second tap on its way: nothing
    comp.querySelector('.option').dispatchEvent('tap') // nor a rung meanwhile
    await settle(40)
    expect(recharges(wx).map((r) => r.data)).toEqual([{ amount_fen: 70001 }]) // exact fen, no option
    expect(recharges(wx)[0].method).toBe('POST')
    expect(paid).toHaveLength(1)
    expect(paid[0]).toMatchObject({ timeStamp: '1764650000', nonceStr: 'n0nce',
      package: 'prepay_id=wx201410272009395522657a690389285100', signType: 'RSA', paySign: 'c2lnbmF0dXJl' })
    expect(polls).toBe(2)
    expect(text(comp)).toContain('充值成功')
    expect(comp.querySelector('.balance').dom.textContent).toBe('¥750.01')
    expect(wx.toasts.map((t) => t.title)).toEqual(['充值成功'])
    // Credited: the field is emptied, so the button does not invite a second recharge.
    expect(comp.instance.data.otherText).toBe('')
    expect(off(comp)).toBe(true)
  } finally {
    restore()
  }
})

test('the server\'s bonus, fixed on the order, is shown when the ladder changed meanwhile', async () => {
  const { comp } = await open({
    'POST me/recharges': () => checkout('RX1', 70001, 8000), // an operator raised the rung
    'POST me/orders/RX1/cancel': () => ({ data: payOrder('RX1', 'closed', 70001, 8000) }),
  })
  global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg: 'requestPayment:fail cancel' }), 0)
  await chooseOther(comp)
  await type(comp, '700.01')
  comp.querySelector('.pay-other').dispatchEvent('tap')
  await settle(30)
  expect(comp.querySelector('.other-bonus').dom.textContent).toBe('赠送 ¥80.00，共到账 ¥780.01')
})

test('a typed recharge given up closes its order and keeps the amount to try again', async () => {
  const { wx, comp } = await open({
    'POST me/recharges': () => checkout('RC9', 12300, 0),
    'POST me/orders/RC9/cancel': () => ({ data: payOrder('RC9', 'closed', 12300, 0) }),
  })
  global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg: 'requestPayment:fail cancel' }), 0)
  await chooseOther(comp)
  await type(comp, '123')
  comp.querySelector('.pay-other').dispatchEvent('tap')
  await settle(30)
  expect(recharges(wx).map((r) => r.data)).toEqual([{ amount_fen: 12300 }])
  expect(wx.requests.filter((r) => r.path.startsWith('me/orders')).map((r) => r.method + ' ' + r.path))
    .toEqual(['POST me/orders/RC9/cancel'])
  expect(text(comp)).toContain('已取消支付')
  expect(comp.instance.data.otherText).toBe('123')
  expect(off(comp)).toBe(false) // paying again is one tap
})

test('a refusal of the amount is the API\'s Chinese message in a dialog, nothing paid', async () => {
  const { wx, comp } = await open({
    'POST me/recharges': () => ({ status: 400, data: { code: 'INVALID_AMOUNT',
      message: '充值金额须在 1 元至 500000 元之间。' } }),
  })
  let sheets = 0
  global.wx.requestPayment = () => { sheets += 1 }
  await chooseOther(comp)
  await type(comp, '88')
  comp.querySelector('.pay-other').dispatchEvent('tap')
  await settle(20)
  expect(wx.dialogs.map((d) => d.content)).toEqual(['充值金额须在 1 元至 500000 元之间。'])
  expect(sheets).toBe(0)
  expect(off(comp)).toBe(false) // not stuck busy
})
