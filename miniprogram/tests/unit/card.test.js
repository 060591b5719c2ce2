const { install, loggedIn, load, render, settle } = require('./fake-wx')

const CARD = {
  card_no: '80000001234', tier: 'silver', tier_name: '银卡', points: 1520,
  total_spend_fen: 22400, balance_fen: 5050,
  next_tier: { tier: 'gold', name: '金卡', threshold_fen: 100000, remaining_fen: 77600,
    progress_percent: 22 },
  expiring: [{ date: '2026-12-31', points: 300 }, { date: '2027-01-31', points: 120 }],
}

let page
beforeAll(() => { page = load('pages/card/card') })

test('the card page renders the card from the API answer', async () => {
  const wx = install({ 'GET me/card': () => ({ data: CARD }) })
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  const text = comp.dom.textContent
  expect(text).toContain('80000001234')
  expect(text).toContain('银卡')
  expect(comp.querySelector('.points').dom.textContent).toBe('1520')
  expect(comp.querySelector('.balance').dom.textContent).toBe('¥50.50')
  expect(text).toContain('再消费 ¥776.00 升级为金卡')
  const expiring = comp.querySelectorAll('.expiring').map((c) => c.dom.textContent.replace(/\s+/g, ''))
  expect(expiring).toEqual(['2026-12-31到期300积分', '2027-01-31到期120积分'])
  expect(wx.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET me/card'])
  expect(wx.requests[0].header.Authorization).toBe('Bearer token-1')
})

test('the top tier shows no progress bar', async () => {
  const wx = install({ 'GET me/card': () => ({ data: Object.assign({}, CARD,
    { tier_name: '钻石卡', next_tier: null, expiring: [] }) }) })
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  expect(comp.dom.textContent).toContain('已是最高等级')
  expect(comp.querySelectorAll('.expiring')).toHaveLength(0)
})

test('without a session the page logs in first, with the wx.login code', async () => {
  const wx = install({
    'POST login': (req) => ({ data: { token: 'fresh', expires_in: 7200, expires_at: 'x',
      card_no: '80000001234', created: true } }),
    'GET me/card': () => ({ data: CARD }),
  })
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  expect(wx.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST login', 'GET me/card'])
  expect(wx.requests[0].data).toEqual({ code: 'wxcode-1' })
  expect(wx.requests[1].header.Authorization).toBe('Bearer fresh')
  expect(comp.dom.textContent).toContain('80000001234')
})

test('到店买单 on the card page opens the pay page', async () => {
  const wx = install({ 'GET me/card': () => ({ data: CARD }) })
  loggedIn(wx)
  const opened = []
  global.wx.navigateTo = (o) => opened.push(o.url)
  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  const entry = comp.querySelector('.pay-entry')
  expect(entry.dom.textContent.replace(/\s+/g, '')).toBe('到店买单储值或微信支付')
  entry.dispatchEvent('tap')
  await settle()
  expect(opened).toEqual(['/pages/pay/pay'])
})
