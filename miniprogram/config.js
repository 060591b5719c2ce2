// The one place the mini-program is pointed at a server. docs/miniprogram.md says more.
module.exports = {
  // wx-member's member API, with its trailing slash. Production: https://your.domain/api/
  // (that domain must be a "request 合法域名" in the mini-program's admin console).
  baseUrl: 'http://127.0.0.1:5000/api/',

  // The demo only (`scripts/run`): WeChat's real wx.login code means nothing to the local
  // sandbox, so the code is asked of the sandbox instead, for this mini-program openid.
  // Leave sandboxUrl empty in a real build.
  sandboxUrl: '',
  sandboxOpenid: 'oMiniDemo',

  // Subscribe-message template ids (the mini-program's own, from its admin console) asked
  // for before the actions whose notices need a grant; an empty list asks nothing.
  subscribeTemplates: {
    redeem: [],
    recharge: [],
    reminders: [],
  },

  // Renew the access token when less than this is left (seconds).
  renewBeforeSeconds: 300,
}
