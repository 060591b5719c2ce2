// utils/api.js: token expiry answered by one login, errors shown as the API's message.
const { install, loggedIn, loginRoute, load, render, settle } = require('./fake-wx')
const api = require('../../utils/api.js')

const CARD = { card_no: '80000001234', tier_name: '普通会员', points: 1, balance_fen: 0,
  total_spend_fen: 0, next_tier: null, expiring: [] }
const EXPIRED = { status: 401, data: { code: 'TOKEN_EXPIRED', message: '登录已过期，请重新登录。' } }

const calls = (wx) => wx.requests.map((r) => `${r.method} ${r.path}`)

test('an expired token logs in again once and repeats the call once', async () => {
  const wx = install({
    'POST login': loginRoute,
    'GET me/card': (req) => (req.header.Authorization === 'Bearer old' ? EXPIRED : { data: CARD }),
  })
  loggedIn(wx, 'old')
  const card = await api.card()
  expect(card.card_no).toBe('80000001234')
  expect(calls(wx)).toEqual(['GET me/card', 'POST login', 'GET me/card'])
  expect(wx.logins).toBe(1)
  expect(wx.requests[2].header.Authorization).toBe('Bearer token-1')
  expect(wx.dialogs).toEqual([]) // nothing for the member to see
})

test('a token refused again after the new login is an error, not another login', async () => {
  const wx = install({ 'POST login': loginRoute, 'GET me/card': () => EXPIRED })
  loggedIn(wx, 'old')
  await expect(api.card()).rejects.toMatchObject({ status: 401, code: 'TOKEN_EXPIRED' })
  expect(calls(wx)).toEqual(['GET me/card', 'POST login', 'GET me/card'])
  expect(wx.dialogs.map((d) => d.content)).toEqual(['登录已过期，请重新登录。'])
})

test('calls that find the token expired at the same moment share one login', async () => {
  const wx = install({
    'POST login': loginRoute,
    'GET me/card': (req) => (req.header.Authorization === 'Bearer old' ? EXPIRED : { data: CARD }),
    'GET gifts': (req) => (req.header.Authorization === 'Bearer old' ? EXPIRED : { data: { gifts: [] } }),
    'GET me/profile': (req) => (req.header.Authorization === 'Bearer old' ? EXPIRED : { data: {} }),
  })
  loggedIn(wx, 'old')
  await Promise.all([api.card(), api.gifts(), api.profile()])
  expect(wx.logins).toBe(1)
  expect(calls(wx).filter((c) => c === 'POST login')).toHaveLength(1)
  expect(wx.requests.length).toBe(7) // 3 refused, 1 login, 3 repeated
})

test('a token about to expire is renewed before the call', async () => {
  const wx = install({ 'POST login': loginRoute, 'GET me/card': () => ({ data: CARD }) })
  loggedIn(wx, 'old', 60) // less than config.renewBeforeSeconds left
  await api.card()
  expect(calls(wx)).toEqual(['POST login', 'GET me/card'])
  expect(wx.storage.get('wxm_session').token).toBe('token-1')
})

test('a failed login is reported once, without a loop', async () => {
  const wx = install({ 'POST login': () => ({ status: 400, data: { code: 'LOGIN_CODE_INVALID',
    message: '登录凭证无效，请重新打开小程序。' } }) })
  await expect(api.card()).rejects.toMatchObject({ code: 'LOGIN_CODE_INVALID' })
  expect(calls(wx)).toEqual(['POST login'])
  expect(wx.dialogs.map((d) => d.content)).toEqual(['登录凭证无效，请重新打开小程序。'])
})

test('a launch scene is sent with the first login only', async () => {
  const wx = install({ 'POST login': loginRoute, 'GET me/card': () => ({ data: CARD }) })
  api.setLaunchScene('ref_80000009999')
  await api.login()
  api.clearSession()
  await api.login()
  const bodies = wx.requests.map((r) => r.data)
  expect(bodies).toEqual([{ code: 'wxcode-1', scene: 'ref_80000009999' }, { code: 'wxcode-2' }])
})

describe('a page shows the API error message', () => {
  let page
  beforeAll(() => { page = load('pages/coupons/coupons') })

  test('the coupons page shows the Chinese message of a refused call', async () => {
    const wx = install({ 'GET me/coupons': () => ({ status: 503, data: {
      code: 'API_NOT_CONFIGURED', message: '服务暂不可用，请稍后再试。' } }) })
    loggedIn(wx)
    const comp = render(page)
    await comp.instance.onLoad()
    await settle()
    expect(wx.dialogs.map((d) => d.content)).toEqual(['服务暂不可用，请稍后再试。'])
    expect(comp.dom.textContent).toContain('暂无优惠券')
  })

  test('no answer at all shows the network message', async () => {
    const wx = install({ 'GET me/coupons': () => 'network' })
    loggedIn(wx)
    const comp = render(page)
    await comp.instance.onLoad()
    await settle()
    expect(wx.dialogs.map((d) => d.content)).toEqual(['网络连接失败，请检查网络后重试。'])
  })

  test('coupons render with their rules, per list', async () => {
    const coupon = { code: 'C8K2M4', name: '新人券', text: '满50减10', status: 'available',
      status_zh: '可使用', first_day: '2026-12-01', last_day: '2026-12-31', valid_until: 'x',
      issued_at: 'x', used_at: null, order_no: null, discount_fen: null,
      rules: { kind: 'amount_off', kind_zh: '满减', min_spend_fen: 5000, amount_off_fen: 1000,
        percent_off: null, cap_fen: null, item: null, min_tier: 'silver', min_tier_name: '银卡' } }
    const wx = install({ 'GET me/coupons': () => ({ data: { coupons: [coupon], next_before: null } }) })
    loggedIn(wx)
    const comp = render(page)
    await comp.instance.onLoad()
    await settle()
    const text = comp.dom.textContent
    expect(text).toContain('满50减10')
    expect(text).toContain('满减 · 满 50.00 元可用 · 银卡及以上可用')
    expect(text).toContain('2026-12-01 至 2026-12-31')
    expect(wx.requests[0].url).toMatch(/me\/coupons\?status=available$/)
  })
})
