// 到店买单 (pages/pay): the amount typed in 元 read without float error, the quote as the
// member sees it (an older answer arriving late never shown), paying from the stored value
// or by WeChat Pay, the result with its live clock, the stores to pick from.
const { install, loggedIn, load, render, settle, simulate } = require('./fake-wx')
const { parseYuan } = require('../../utils/format.js')
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
    await api.payStore({ store_code: 'S01', amount_fen: 1230, pay_with: 'balance' }, 'key-1')
    await api.storePayment('M1')
    expect(wx.requests.map((r) => `${r.method} ${r.url.replace(/^.*\/api\//, '')}`)).toEqual([
      'GET stores', 'GET stores/S%201/checkout?amount_fen=1230',
      'GET stores/S%201/checkout?amount_fen=1230&coupon=C9&points=300',
      'POST me/store-payments', 'GET me/store-payments/M1'])
    expect(wx.requests[3].data).toEqual({ store_code: 'S01', amount_fen: 1230, pay_with: 'balance' })
    expect(wx.requests[3].header['Idempotency-Key']).toBe('key-1')
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
