// 个人资料: name (姓名, theirs to change), birthday (settable once: the birthday points depend on it), phone through
// WeChat's phone button, and the reminders the member may subscribe to.
const api = require('../../utils/api.js')
const subscribe = require('../../utils/subscribe.js')

Component({
  data: { profile: null, today: '' },
  methods: {
    onLoad() {
      const d = new Date()
      this.setData({ today: `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-` +
        String(d.getDate()).padStart(2, '0') })
      return this.load()
    },
    load() {
      return api.profile().then((profile) => this.setData({ profile }), () => null)
    },
    saveName(e) {
      const name = String((e.detail && e.detail.value) || '').trim()
      if (!this.data.profile || name === (this.data.profile.name || '')) return Promise.resolve()
      return api.setName(name).then((profile) => {
        this.setData({ profile })
        wx.showToast({ title: '已保存', icon: 'success' })
      }, () => null) // the API's Chinese message was shown
    },
    pickBirthday(e) {
      const birthday = e.detail.value
      return new Promise((resolve) => wx.showModal({
        title: '设置生日', content: `生日设为 ${birthday}？设置后不能修改。`,
        success: (res) => resolve(res.confirm), fail: () => resolve(false),
      })).then((ok) => ok && api.setBirthday(birthday).then((profile) => {
        this.setData({ profile })
        wx.showToast({ title: '已保存', icon: 'success' })
      }, () => null))
    },
    gotPhone(e) {
      const code = e.detail && e.detail.code
      if (!code) return Promise.resolve() // the member declined
      return api.setPhone(code).then((profile) => {
        this.setData({ profile })
        wx.showToast({ title: '已绑定', icon: 'success' })
      }, () => null)
    },
    subscribeReminders() {
      return subscribe.askFor('reminders').then((results) => {
        const accepted = Object.keys(results).filter((k) => results[k] === 'accept').length
        wx.showToast({ title: accepted ? '已订阅' : '未订阅', icon: 'none' })
      })
    },
  },
})
