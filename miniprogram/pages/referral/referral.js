// 邀请好友: my referral QR code (the Official Account's code, scene ref_<card no>), a
// mini-program card to share (it opens the login with that scene), and what it brought.
const api = require('../../utils/api.js')
const { dateTime } = require('../../utils/format.js')

Component({
  data: { code: null, results: null, cardNo: '' },
  methods: {
    onLoad() {
      const s = api.session()
      this.setData({ cardNo: s ? s.cardNo : '' })
      return Promise.all([
        api.referralCode().then((code) => this.setData({ code }), () => null),
        api.referralResults().then((r) => this.setData({ results: {
          referees: r.referees, points: r.points_earned,
          recent: r.recent.map((x) => ({ card: x.card_hint, at: dateTime(x.joined_at) })) } }),
        () => null),
      ])
    },
    onShareAppMessage() {
      return { title: '邀请你成为会员，注册即送积分',
        path: '/pages/login/login?scene=' + encodeURIComponent('ref_' + this.data.cardNo) }
    },
  },
})
