// 积分兑换: the gift catalogue and redeeming. Each tap on 兑换 gets its own
// Idempotency-Key; a second tap while the first is on its way is the same tap and sends
// nothing, and a tap after a lost answer (no answer at all) sends the same key again, so
// the server redeems once however the taps and the network go (docs/api.md).
const api = require('../../utils/api.js')
const { newKey } = require('../../utils/keys.js')
const subscribe = require('../../utils/subscribe.js')

Component({
  data: { gifts: [], points: null, busyId: 0, loading: true },
  methods: {
    onLoad() {
      this.attempts = {} // gift id → the key of a tap not yet answered
      return this.load()
    },
    load() {
      return Promise.all([api.gifts(), api.card()]).then(([res, card]) => {
        this.setData({ gifts: res.gifts, points: card.points, loading: false })
      }, () => this.setData({ loading: false }))
    },
    redeem(e) {
      const id = Number(e.currentTarget.dataset.id)
      if (this.data.busyId || this.busy) return Promise.resolve() // the same tap, twice
      this.busy = true
      this.setData({ busyId: id })
      const gift = this.data.gifts.find((g) => g.id === id) || { name: '', points: 0 }
      const attempt = this.attempts[id] || (this.attempts[id] = { key: newKey() })
      return subscribe.askFor('redeem')
        .then(() => confirm(`确认用 ${gift.points} 积分兑换「${gift.name}」？`))
        .then((ok) => {
          if (!ok) {
            delete this.attempts[id]
            return null
          }
          return api.redeem(id, 1, attempt.key).then((res) => {
            delete this.attempts[id]
            this.setData({ points: res.points_balance })
            wx.showToast({ title: res.replayed ? '已兑换' : '兑换成功', icon: 'success' })
            return this.load()
          }, (err) => {
            // No answer: the redemption may have happened; the next tap retries this key.
            if (err.status !== 0) delete this.attempts[id]
          })
        })
        .finally(() => {
          this.busy = false
          this.setData({ busyId: 0 })
        })
    },
  },
})

function confirm(content) {
  return new Promise((resolve) => {
    wx.showModal({ title: '积分兑换', content, confirmText: '兑换',
      success: (res) => resolve(!!res.confirm), fail: () => resolve(false) })
  })
}
