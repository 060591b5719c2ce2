// The subscribe-message prompt: asked in the tap's own handler (WeChat requires a tap)
// before an action whose notices need a grant; what the member chose is reported to the
// API (each accept allows one message). Never blocks the action: a refusal or a failure
// only means no notice.
const api = require('./api.js')
const config = require('../config.js')

function askFor(action) {
  const tmplIds = (config.subscribeTemplates[action] || []).slice(0, 3)
  if (!tmplIds.length || !wx.requestSubscribeMessage) return Promise.resolve({})
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => {
        const results = {}
        tmplIds.forEach((id) => { if (res[id]) results[id] = res[id] })
        if (!Object.keys(results).length) return resolve({})
        api.recordSubscriptions(results).then(() => resolve(results), () => resolve(results))
      },
      fail: () => resolve({}),
    })
  })
}

module.exports = { askFor }
