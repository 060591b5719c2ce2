// A stand-in for the parts of `wx` the pages use, over miniprogram-simulate's mocks: an API
// server answering from a table of routes (and recording every request), wx.login codes,
// storage in memory, and the dialogs and toasts shown.
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../..')

function install(routes) {
  const state = { requests: [], dialogs: [], toasts: [], logins: 0, storage: new Map(),
    routes: Object.assign({}, routes), held: [], warnings: [] }
  // utils/api.js logs a failed call (method, path, status, code): kept here, off the output
  console.warn = (...args) => state.warnings.push(args.join(' '))
  Object.assign(global.wx, {
    request(opts) {
      const rel = opts.url.replace(/^https?:\/\/[^/]+\/api\//, '')
      const [p] = rel.split('?')
      const req = { method: opts.method, url: opts.url, path: p, data: opts.data,
        header: Object.assign({}, opts.header) }
      state.requests.push(req)
      const route = state.routes[`${opts.method} ${p}`]
      const answer = () => {
        const res = route ? route(req, state) : { status: 404, data: { code: 'NOT_FOUND', message: '未找到。' } }
        if (res === 'network') opts.fail({ errMsg: 'request:fail timeout' })
        else opts.success({ statusCode: res.status || 200, data: res.data, header: {} })
      }
      if (state.hold) state.held.push(answer) // answered when the test releases it
      else setTimeout(answer, 0)
      return { abort() {} }
    },
    login(opts) {
      state.logins += 1
      setTimeout(() => opts.success({ code: 'wxcode-' + state.logins }), 0)
    },
    getStorageSync: (k) => (state.storage.has(k) ? state.storage.get(k) : ''),
    setStorageSync: (k, v) => state.storage.set(k, JSON.parse(JSON.stringify(v))),
    removeStorageSync: (k) => state.storage.delete(k),
    showModal(opts) {
      state.dialogs.push(opts)
      const res = { confirm: true, cancel: false }
      setTimeout(() => opts.success && opts.success(res), 0)
    },
    showToast: (opts) => state.toasts.push(opts),
    stopPullDownRefresh() {},
    reLaunch() {},
    navigateTo() {},
  })
  state.release = () => { state.hold = false; state.held.splice(0).forEach((f) => setTimeout(f, 0)) }
  return state
}

// A session stored as utils/api.js stores it: logged in, `left` seconds to go.
function loggedIn(state, token = 'token-1', left = 3600) {
  state.storage.set('wxm_session', { token, cardNo: '80000001234', expiresAt: Date.now() + left * 1000 })
}

function loginRoute(req, state) {
  return { data: { token: 'token-' + state.logins, expires_in: 7200,
    expires_at: '2026-12-02T12:00:00Z', card_no: '80000001234', created: false } }
}

// A page's definition, loaded once per test file (jest keeps required files: a second
// simulate.load of the same page would not run its Component() again).
const loaded = {}
function load(page) {
  if (!loaded[page]) loaded[page] = simulate.load(path.join(ROOT, page), { rootPath: ROOT })
  return loaded[page]
}

function render(id) {
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// Let every pending timer and promise run (fake answers come on timers).
async function settle(times = 10) {
  for (let i = 0; i < times; i += 1) await simulate.sleep(0)
}

module.exports = { install, loggedIn, loginRoute, load, render, settle, ROOT, simulate }
