// The member mini-program of wx-member: the reference client of its member API
// (docs/api.md). Pages log in through utils/api.js, which keeps and renews the token.
const api = require('./utils/api.js')

App({
  onLaunch(options) {
    // A shared referral card opens the mini-program with ?scene=ref_<card no>: the first
    // login passes it on, so the referrer is credited when this login makes the member.
    const query = (options && options.query) || {}
    if (query.scene) api.setLaunchScene(decodeURIComponent(query.scene))
  },
})
