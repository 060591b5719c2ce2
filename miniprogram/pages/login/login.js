// 登录: wx.login → /api/login; then the card. A stored token with time left skips it.
const api = require('../../utils/api.js')

Component({
  data: { busy: false, error: '' },
  methods: {
    onLoad(options) {
      if (options && options.scene) api.setLaunchScene(decodeURIComponent(options.scene))
      const s = api.session()
      if (s && s.expiresAt > Date.now()) return this.open()
      this.login()
    },
    login() {
      if (this.data.busy) return
      this.setData({ busy: true, error: '' })
      api.login().then(() => {
        this.setData({ busy: false })
        this.open()
      }, (err) => this.setData({ busy: false, error: err.message || '登录失败，请稍后再试。' }))
    },
    open() {
      wx.reLaunch({ url: '/pages/card/card' })
    },
  },
})
