const { install, loggedIn, load, render, settle } = require('./fake-wx')

const GIFTS = { gifts: [{ id: 7, name: '帆布袋', points: 100, stock: 5 }] }
let balance = 500

function redeemed(req) {
  balance -= 100
  return { data: { redemption: { id: 1, kind: 'gift', points: 100, gift_id: 7,
    gift_name: '帆布袋', quantity: 1, order_no: null, fen_off: null, created_at: 'x' },
  points_balance: balance, replayed: false } }
}

let page
beforeAll(() => { page = load('pages/gifts/gifts') })

async function giftsPage(routes) {
  balance = 500
  const wx = install(Object.assign({ 'GET gifts': () => ({ data: GIFTS }),
    'GET me/card': () => ({ data: { card_no: '80000001234', points: balance } }) }, routes))
  loggedIn(wx)
  const comp = render(page)
  await comp.instance.onLoad()
  await settle()
  return { wx, comp }
}

const redemptions = (wx) => wx.requests.filter((r) => r.path === 'me/redemptions')

test('a redeem button tapped twice sends one request with one Idempotency-Key', async () => {
  const { wx, comp } = await giftsPage({ 'POST me/redemptions': redeemed })
  wx.hold = true // the answer is still on its way when the second tap comes
  const button = comp.querySelector('.redeem')
  button.dispatchEvent('tap')
  button.dispatchEvent('tap')
  await settle()
  wx.release()
  await settle(20)
  const sent = redemptions(wx)
  expect(sent).toHaveLength(1)
  expect(sent[0].data).toEqual({ gift_id: 7, quantity: 1 })
  expect(sent[0].header['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/)
  expect(comp.querySelector('.my-points').dom.textContent).toBe('400')
  expect(wx.toasts.map((t) => t.title)).toEqual(['兑换成功'])
})

test('each answered tap gets a new key; a lost answer is retried with the same key', async () => {
  let lose = true
  const { wx, comp } = await giftsPage({
    'POST me/redemptions': (req) => (lose ? 'network' : redeemed(req)),
  })
  const button = comp.querySelector('.redeem')
  button.dispatchEvent('tap') // no answer: maybe redeemed, maybe not
  await settle(20)
  lose = false
  button.dispatchEvent('tap') // the same attempt again: the same key
  await settle(20)
  button.dispatchEvent('tap') // a new tap after an answer: a new key
  await settle(20)
  const keys = redemptions(wx).map((r) => r.header['Idempotency-Key'])
  expect(keys).toHaveLength(3)
  expect(keys[1]).toBe(keys[0])
  expect(keys[2]).not.toBe(keys[0])
})

test('a refusal shows the API message and the next tap is a new attempt', async () => {
  const { wx, comp } = await giftsPage({
    'POST me/redemptions': () => ({ status: 409, data: { code: 'INSUFFICIENT_POINTS',
      message: '积分不足：兑换需要 100 积分，当前 10 积分。' } }),
  })
  comp.querySelector('.redeem').dispatchEvent('tap')
  await settle(20)
  comp.querySelector('.redeem').dispatchEvent('tap')
  await settle(20)
  const shown = wx.dialogs.filter((d) => d.title === '提示').map((d) => d.content)
  expect(shown).toEqual(['积分不足：兑换需要 100 积分，当前 10 积分。',
    '积分不足：兑换需要 100 积分，当前 10 积分。'])
  const keys = redemptions(wx).map((r) => r.header['Idempotency-Key'])
  expect(new Set(keys).size).toBe(2)
})

test('the subscribe prompt comes in the tap itself, its answer is recorded, then the redemption', async () => {
  const config = require('../../config.js')
  config.subscribeTemplates.redeem = ['tmpl_gift_shipped']
  try {
    const { wx, comp } = await giftsPage({
      'POST me/redemptions': redeemed,
      'POST me/subscriptions': (req) => ({ data: { remaining: { tmpl_gift_shipped: 1 } } }),
    })
    const asked = []
    global.wx.requestSubscribeMessage = (opts) => {
      asked.push(opts.tmplIds)
      setTimeout(() => opts.success({ errMsg: 'requestSubscribeMessage:ok',
        tmpl_gift_shipped: 'accept' }), 0)
    }
    // The tap's handler, called as WeChat calls it: the prompt is asked before it returns
    // (WeChat shows it only from a tap), before anything is sent.
    comp.instance.redeem({ currentTarget: { dataset: { id: 7 } } })
    expect(asked).toEqual([['tmpl_gift_shipped']])
    expect(wx.requests.filter((r) => r.method === 'POST')).toEqual([])
    await settle(20)
    const posts = wx.requests.filter((r) => r.method === 'POST')
    expect(posts.map((r) => r.path)).toEqual(['me/subscriptions', 'me/redemptions'])
    expect(posts[0].data).toEqual({ results: { tmpl_gift_shipped: 'accept' } })
  } finally {
    config.subscribeTemplates.redeem = []
  }
})

test('a gift with a picture shows it from image_url; one without shows none', async () => {
  const url = 'http://127.0.0.1:5000/api/gift-images/7/' + 'a'.repeat(32)
  const { comp } = await giftsPage({ 'GET gifts': () => ({ data: { gifts: [
    { id: 7, name: '帆布袋', points: 100, stock: 5, image_url: url },
    { id: 8, name: '马克杯', points: 200, stock: 1, image_url: null }] } }) })
  // miniprogram-simulate keeps no attributes of built-in tags (<image src>): the picture
  // is where its gift is, bound to the gift's image_url.
  const cells = comp.querySelectorAll('.gift')
  expect(comp.querySelectorAll('.gift-image')).toHaveLength(1)
  expect(cells[0].dom.querySelector('wx-image')).toBeTruthy()
  expect(cells[1].dom.querySelector('wx-image')).toBeFalsy()
  expect(comp.instance.data.gifts[0].image_url).toBe(url)
})
