// History paging, recharging (wx.requestPayment, then polling the order), the login page.
const { install, loggedIn, loginRoute, load, render, settle } = require('./fake-wx')

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

test('a recharge pays with what the API answers, then polls the order until paid', async () => {
  const page = load('pages/recharge/recharge')
  let polls = 0
  const wx = install({
    'GET recharge/options': () => ({ data: { options: [{ amount_fen: 50000, bonus_fen: 5000,
      text: '充500送50' }] } }),
    'GET me/balance': () => ({ data: { balance_fen: polls > 1 ? 55000 : 0, entries: [],
      next_before: null } }),
    'POST me/recharges': () => ({ status: 201, data: { order: { out_trade_no: 'RC20261202ABC',
      status: 'created' }, reused: false, payment: { appId: 'wxmini', timeStamp: '1764650000',
      nonceStr: 'n0nce', package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA', paySign: 'c2lnbmF0dXJl' } } }),
    'GET me/orders/RC20261202ABC': () => {
      polls += 1
      return { data: { out_trade_no: 'RC20261202ABC', status: polls > 1 ? 'paid' : 'created' } }
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

test('a cancelled payment polls nothing, closes the order and says so', async () => {
  const page = load('pages/recharge/recharge')
  const wx = install({
    'GET recharge/options': () => ({ data: { options: [{ amount_fen: 10000, bonus_fen: 0, text: '充100' }] } }),
    'GET me/balance': () => ({ data: { balance_fen: 0, entries: [], next_before: null } }),
    'POST me/recharges': () => ({ status: 201, data: { order: { out_trade_no: 'RC1' },
      payment: { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA',
        paySign: 's' } } }),
    'POST me/orders/RC1/cancel': () => ({ data: { out_trade_no: 'RC1', status: 'closed' } }),
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
