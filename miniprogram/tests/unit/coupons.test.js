const { install, loggedIn, load, render, settle } = require('./fake-wx')

const RULES = { kind: 'amount_off', kind_zh: '满减', min_spend_fen: 0, amount_off_fen: 800,
  percent_off: null, cap_fen: null, item: null, min_tier: null, min_tier_name: null }

function coupon(code, name, stores, where) {
  return { code, name, text: '8元代金券', status: 'available', status_zh: '可使用',
    first_day: '2026-12-01', last_day: '2026-12-30', valid_until: '2026-12-30T16:00:00Z',
    issued_at: '2026-12-01T02:00:00Z', used_at: null, order_no: null, discount_fen: null,
    rules: RULES, stores, where }
}

test('each coupon says where it can be used', async () => {
  const wx = install({ 'GET me/coupons': () => ({ data: { next_before: null, coupons: [
    coupon('AAAA2222BBBB', '人广店专享', ['人民广场店'], '限人民广场店使用'),
    coupon('CCCC3333DDDD', '入会礼', [], '全部门店可用')] } }) })
  loggedIn(wx)
  const comp = render(load('pages/coupons/coupons'))
  await comp.instance.onLoad()
  await settle()
  const where = comp.querySelectorAll('.where').map((n) => n.dom.textContent)
  expect(where).toEqual(['限人民广场店使用', '全部门店可用'])
})
