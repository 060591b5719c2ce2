// 我的会员卡: card number, tier and progress to the next, points with the ones that lapse
// first, stored value; the entries to the other pages (到店买单 first).
const api = require('../../utils/api.js')
const { yuan } = require('../../utils/format.js')

function view(card) {
  const next = card.next_tier
  return {
    cardNo: card.card_no,
    tierName: card.tier_name,
    points: card.points,
    balance: yuan(card.balance_fen),
    spend: yuan(card.total_spend_fen),
    next: next ? { name: next.name, percent: next.progress_percent,
      remaining: yuan(next.remaining_fen) } : null,
    expiring: (card.expiring || []).map((e) => ({ date: e.date, points: e.points })),
  }
}

Component({
  data: { card: null, loading: true },
  methods: {
    onShow() {
      return this.load()
    },
    onPullDownRefresh() {
      return this.load().finally(() => wx.stopPullDownRefresh())
    },
    load() {
      this.setData({ loading: true })
      return api.card().then((card) => this.setData({ card: view(card), loading: false }),
        () => this.setData({ loading: false }))
    },
    go(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url })
    },
  },
})
