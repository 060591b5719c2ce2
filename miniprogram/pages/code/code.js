// 会员码: a signed code valid for a minute, shown as a QR code drawn here and fetched anew
// before it expires while the page is on screen. The code is never logged or stored.
const api = require('../../utils/api.js')

const EARLY_SECONDS = 10 // fetch the next code this long before the shown one expires

Component({
  data: { code: '', cardNo: '', error: '' },
  methods: {
    onShow() {
      const s = api.session()
      if (s) this.setData({ cardNo: s.cardNo })
      return this.refresh()
    },
    onHide() { this.stop() },
    onUnload() { this.stop() },
    stop() {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
    },
    refresh() {
      this.stop()
      return api.memberCode().then((res) => {
        this.setData({ code: res.code, error: '' })
        const wait = Math.max(res.expires_in - EARLY_SECONDS, 5) * 1000
        this.timer = setTimeout(() => this.refresh(), wait)
      }, (err) => this.setData({ code: '', error: err.message }))
    },
  },
})
