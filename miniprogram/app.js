// The member mini-program of wx-member: the reference client of its member API
// (docs/api.md). Pages log in through utils/api.js, which keeps and renews the token.
const api = require('./utils/api.js')

const PAY_PAGE = 'pages/pay/pay'

App({
  onLaunch(options) {
    // A shared referral card opens the mini-program with ?scene=ref_<card no>: the first
    // login passes it on, so the referrer is credited when this login makes the member.
    // A store's 到店买单 code opens pages/pay/pay with ?scene=<store code>: that scene is the
    // page's, not a referral's or a channel's, and is not passed on.
    const query = (options && options.query) || {}
    const path = String((options && options.path) || '').replace(/^\//, '')
    if (query.scene && path !== PAY_PAGE) api.setLaunchScene(decodeURIComponent(query.scene))
  },
})
