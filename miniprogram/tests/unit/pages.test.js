// History paging, recharging (wx.requestPayment, then polling the order), the login page.
const { install, loggedIn, loginRoute, load, render, settle } = require('./fake-wx')
const { payOrder, checkout } = require('./api-shapes')

const entry = (id, delta) => ({ id, delta, reason: 'purchase', reason_zh: '消费积分',
  created_at: '2026-12-01T04:00:00Z', expires_at: null })

test('points history pages by the cursor until next_before is null', async () => {
  const page = load('pages/history/history')
  const wx = install({ 'GET me/points': (req) => (/before=3/.test(req.url)
    ? { data: { entries: [entry(2, -50), entry(1, 10)], next_before: null } }
    : { data: { entries: [entry(4, 128), entry(3, 96)], next_before: 3 } }) })
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onLoad()
  await settle()
  await comp.instance.onReachBottom()
  await settle()
  await comp.instance.onReachBottom() // the end: nothing more is asked
  await settle()
  const rows = comp.querySelectorAll('.entry').map((c) => c.dom.textContent.replace(/\s+/g, ''))
  expect(rows.map((r) => r.match(/[+-]\d+$/)[0])).toEqual(['+128', '+96', '-50', '+10'])
  expect(rows[0]).toMatch(/^消费积分2026-12-0\d\d\d:\d\d\+128$/) // local time of 04:00Z
  expect(wx.requests.map((r) => r.url.split('?')[1])).toEqual(['limit=20', 'before=3&limit=20'])
  expect(comp.dom.textContent).toContain('没有更多了')
})

const ladder = (amount, bonus, text) => () => ({ data: { options: [{ amount_fen: amount,
  bonus_fen: bonus, text }] } })
const balance = (fen) => ({ data: { balance_fen: fen, entries: [], next_before: null } })

test('a recharge pays with what the API answers, then polls the order until paid', async () => {
  const page = load('pages/recharge/recharge')
  let polls = 0
  const wx = install({
    'GET recharge/options': ladder(50000, 5000, '充500送50'),
    'GET me/balance': () => balance(polls > 1 ? 55000 : 0),
    'POST me/recharges': () => checkout('R20261202080000ABCD1234', 50000, 5000),
    'GET me/orders/R20261202080000ABCD1234': () => {
      polls += 1
      return { data: payOrder('R20261202080000ABCD1234', polls > 1 ? 'paid' : 'created') }
    },
  })
  loggedIn(wx)
  const paid = []
  global.wx.requestPayment = (opts) => { paid.push(opts); setTimeout(() => opts.success({}), 0) }
  const timers = global.setTimeout
  global.setTimeout = (f, ms) => timers(f, ms >= 1000 ? 0 : ms) // the poll's pause, skipped
  try {
    const comp = render(page)
    await comp.instance.onShow()
    await settle()
    expect(comp.dom.textContent).toContain('送 ¥50.00')
    comp.querySelector('.option').dispatchEvent('tap')
    await settle(40)
    expect(paid).toHaveLength(1)
    expect(paid[0]).toMatchObject({ timeStamp: '1764650000', nonceStr: 'n0nce',
      package: 'prepay_id=wx201410272009395522657a690389285100', signType: 'RSA',
      paySign: 'c2lnbmF0dXJl' })
    expect(wx.requests.find((r) => r.path === 'me/recharges').data).toEqual({ option_fen: 50000 })
    expect(polls).toBe(2)
    expect(comp.dom.textContent).toContain('充值成功')
    expect(comp.querySelector('.balance').dom.textContent).toBe('¥550.00')
  } finally {
    global.setTimeout = timers
  }
})

test('an order WeChat Pay closed stops the polling with its Chinese status', async () => {
  const page = load('pages/recharge/recharge')
  let polls = 0
  const wx = install({
    'GET recharge/options': ladder(10000, 0, '充100'),
    'GET me/balance': () => balance(0),
    'POST me/recharges': () => checkout('R2', 10000, 0),
    'GET me/orders/R2': () => { polls += 1; return { data: payOrder('R2', 'closed', 10000, 0) } },
  })
  loggedIn(wx)
  global.wx.requestPayment = (opts) => setTimeout(() => opts.success({}), 0)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  comp.querySelector('.option').dispatchEvent('tap')
  await settle(20)
  expect(polls).toBe(1)
  expect(comp.dom.textContent).toContain('支付未完成（已关闭）')
})

test('a cancelled payment polls nothing, closes the order and says so', async () => {
  const page = load('pages/recharge/recharge')
  const wx = install({
    'GET recharge/options': ladder(10000, 0, '充100'),
    'GET me/balance': () => balance(0),
    'POST me/recharges': () => checkout('RC1', 10000, 0),
    'POST me/orders/RC1/cancel': () => ({ data: payOrder('RC1', 'closed', 10000, 0) }),
  })
  loggedIn(wx)
  global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg: 'requestPayment:fail cancel' }), 0)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  comp.querySelector('.option').dispatchEvent('tap')
  await settle(20)
  expect(wx.requests.filter((r) => r.path.startsWith('me/orders')).map((r) => r.method + ' ' + r.path))
    .toEqual(['POST me/orders/RC1/cancel'])
  expect(comp.dom.textContent).toContain('已取消支付')
  expect(wx.dialogs).toEqual([])
})

test('a cancel that finds the order paid meanwhile says 充值成功 and shows the new balance', async () => {
  for (const cancelAnswer of [
    () => ({ data: payOrder('RC2', 'paid') }), // paid at WeChat Pay: credited by the cancel
    () => ({ status: 409, data: { code: 'PAY_ORDER_NOT_OPEN', message: '订单已支付或已关闭。' } }),
  ]) {
    const page = load('pages/recharge/recharge')
    let cancelled = false
    const wx = install({
      'GET recharge/options': ladder(50000, 5000, '充500送50'),
      'GET me/balance': () => balance(cancelled ? 55000 : 0),
      'POST me/recharges': () => checkout('RC2', 50000, 5000),
      'POST me/orders/RC2/cancel': () => { cancelled = true; return cancelAnswer() },
      'GET me/orders/RC2': () => ({ data: payOrder('RC2', 'paid') }), // the notify came first
    })
    loggedIn(wx)
    global.wx.requestPayment = (opts) => setTimeout(() => opts.fail({ errMsg: 'requestPayment:fail cancel' }), 0)
    const comp = render(page)
    await comp.instance.onShow()
    await settle()
    comp.querySelector('.option').dispatchEvent('tap')
    await settle(30)
    expect(comp.dom.textContent).toContain('充值成功')
    expect(comp.dom.textContent).not.toContain('已取消支付')
    expect(comp.querySelector('.balance').dom.textContent).toBe('¥550.00')
    expect(wx.dialogs).toEqual([]) // the 409 is expected here, not an error to show
  }
})

test('the login page stores a referral scene and opens the card after logging in', async () => {
  const page = load('pages/login/login')
  const wx = install({ 'POST login': loginRoute })
  const opened = []
  global.wx.reLaunch = (o) => opened.push(o.url)
  const comp = render(page)
  comp.instance.onLoad({ scene: encodeURIComponent('ref_80000005678') })
  await settle()
  expect(wx.requests[0].data).toEqual({ code: 'wxcode-1', scene: 'ref_80000005678' })
  expect(opened).toEqual(['/pages/card/card'])
})

test('the profile page saves the name the member types, and shows the refusal if any', async () => {
  const page = load('pages/profile/profile')
  const profile = (name) => ({ card_no: '80000000011', phone: null, name, birthday: null,
    birthday_settable: true })
  const wx = install({
    'GET me/profile': () => ({ data: profile(null) }),
    'PUT me/profile/name': (req) => (req.data.name.length > 30
      ? { status: 400, data: { code: 'NAME_INVALID', message: '姓名最多 30 个字。' } }
      : { data: profile(req.data.name || null) }),
  })
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onLoad()
  await settle()
  expect(comp.dom.textContent).toContain('姓名')
  await comp.instance.saveName({ detail: { value: '  王芳 ' } })
  expect(wx.requests.filter((r) => r.method === 'PUT').map((r) => r.data)).toEqual([{ name: '王芳' }])
  expect(comp.instance.data.profile.name).toBe('王芳')
  await comp.instance.saveName({ detail: { value: '王芳' } }) // unchanged: nothing sent
  await comp.instance.saveName({ detail: { value: '长'.repeat(31) } })
  expect(wx.requests.filter((r) => r.method === 'PUT')).toHaveLength(2)
  expect(wx.dialogs.map((d) => d.content)).toEqual(['姓名最多 30 个字。'])
  expect(comp.instance.data.profile.name).toBe('王芳')
})
