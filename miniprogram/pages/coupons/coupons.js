// 我的优惠券: available / used / expired, each with its rules and where it can be used
// (全部门店可用, 限…使用). Coupons are used at the till (the cashier scans the member code and
// names the coupon's code).
const api = require('../../utils/api.js')
const { yuan, dateTime } = require('../../utils/format.js')

const TABS = [{ key: 'available', label: '可使用' }, { key: 'used', label: '已使用' },
  { key: 'expired', label: '已过期' }]

function rulesText(r) {
  const parts = [r.kind_zh]
  parts.push(r.min_spend_fen > 0 ? `满 ${yuan(r.min_spend_fen)} 元可用` : '无门槛')
  if (r.cap_fen) parts.push(`最多减 ${yuan(r.cap_fen)} 元`)
  if (r.item) parts.push(`兑换：${r.item}`)
  if (r.min_tier_name) parts.push(`${r.min_tier_name}及以上可用`)
  return parts.join(' · ')
}

function view(c) {
  return { code: c.code, name: c.name, text: c.text, status: c.status_zh,
    days: `${c.first_day} 至 ${c.last_day}`, rules: rulesText(c.rules),
    used: c.used_at ? `${dateTime(c.used_at)} 用于订单 ${c.order_no}` : '',
    where: c.where || '' }
}

Component({
  data: { tabs: TABS, status: 'available', coupons: [], nextBefore: null, done: false,
    loading: false },
  methods: {
    onLoad() { return this.load(true) },
    onReachBottom() { return this.load(false) },
    switchTab(e) {
      this.setData({ status: e.currentTarget.dataset.status })
      return this.load(true)
    },
    load(fresh) {
      if (this.data.loading || (!fresh && this.data.done)) return Promise.resolve()
      const before = fresh ? undefined : this.data.nextBefore
      const status = this.data.status
      this.setData({ loading: true })
      return api.coupons(status, before).then((page) => {
        const rows = page.coupons.map(view)
        this.setData({ coupons: fresh ? rows : this.data.coupons.concat(rows), loading: false,
          nextBefore: page.next_before, done: !page.next_before })
      }, () => this.setData({ loading: false }))
    },
  },
})
