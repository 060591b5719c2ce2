// 积分与等级记录: points history paged by the API's cursor, and tier changes.
const api = require('../../utils/api.js')
const { dateTime, signed } = require('../../utils/format.js')

Component({
  data: { tab: 'points', entries: [], nextBefore: null, done: false, loading: false, tiers: null },
  methods: {
    onLoad() {
      return this.more()
    },
    onReachBottom() {
      if (this.data.tab === 'points') return this.more()
      return undefined
    },
    switchTab(e) {
      const tab = e.currentTarget.dataset.tab
      this.setData({ tab })
      if (tab === 'tiers' && this.data.tiers === null) this.loadTiers()
    },
    more() {
      if (this.data.loading || this.data.done) return Promise.resolve()
      this.setData({ loading: true })
      return api.points(this.data.nextBefore || undefined).then((page) => {
        const rows = page.entries.map((e) => ({ id: e.id, delta: signed(e.delta),
          gain: e.delta > 0, reason: e.reason_zh, at: dateTime(e.created_at) }))
        this.setData({ entries: this.data.entries.concat(rows), nextBefore: page.next_before,
          done: !page.next_before, loading: false })
      }, () => this.setData({ loading: false }))
    },
    loadTiers() {
      return api.tiers().then((res) => this.setData({
        tiers: res.changes.map((c) => ({ from: c.from_name, to: c.to_name, reason: c.reason_zh,
          at: dateTime(c.at) })),
      }))
    },
  },
})
