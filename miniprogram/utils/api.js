// The member API client every page uses: one base URL (config.js), the access token kept in
// storage and renewed, errors shown as the API's own Chinese message, an expired token
// answered by logging in again once. Response bodies are never logged (the member code is
// a bearer credential at the till for its minute); a failed call logs method, path, status
// and the error code only.
const config = require('../config.js')

const TOKEN_KEY = 'wxm_session'
const SCENE_KEY = 'wxm_launch_scene'
const NETWORK_MESSAGE = '网络连接失败，请检查网络后重试。'
const FALLBACK_MESSAGE = '系统繁忙，请稍后再试。'
const RELOGIN_CODES = ['TOKEN_EXPIRED', 'TOKEN_INVALID']

let loginInFlight = null // one login at a time, shared by every caller that needs it

class ApiError extends Error {
  constructor(status, code, message, errors) {
    super(message)
    this.status = status // 0: no answer (network)
    this.code = code
    this.errors = errors
  }
}

function url(path) {
  return config.baseUrl.replace(/\/?$/, '/') + path.replace(/^\//, '')
}

// wx.request as a promise of {status, data}; rejects only when no answer came.
function send(method, fullUrl, data, header) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: fullUrl, method, data, header, dataType: 'json', timeout: 15000,
      success: (res) => resolve({ status: res.statusCode, data: res.data }),
      fail: (res) => reject(new ApiError(0, 'NETWORK', NETWORK_MESSAGE, res && res.errMsg)),
    })
  })
}

function logFailure(method, path, status, code) {
  console.warn(`[api] ${method} ${path} -> ${status} ${code}`)
}

function toError(status, data) {
  const body = data && typeof data === 'object' ? data : {}
  return new ApiError(status, body.code || 'HTTP_' + status, body.message || FALLBACK_MESSAGE,
    body.errors)
}

function showError(err) {
  wx.showModal({ title: '提示', content: err.message || FALLBACK_MESSAGE, showCancel: false })
}

// -- the session ----------------------------------------------------------------------------
function session() {
  const s = wx.getStorageSync(TOKEN_KEY)
  return s && s.token ? s : null
}

function clearSession() {
  wx.removeStorageSync(TOKEN_KEY)
}

function setLaunchScene(scene) {
  if (scene) wx.setStorageSync(SCENE_KEY, String(scene))
}

function loginCode() {
  if (config.sandboxUrl) { // the demo's sandbox stands in for WeChat (config.js)
    return send('POST', config.sandboxUrl.replace(/\/?$/, '/') + '_sandbox/login-code',
      { openid: config.sandboxOpenid }, { 'content-type': 'application/json' })
      .then((res) => res.data.code)
  }
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      fail: () => reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请稍后再试。')),
    })
  })
}

async function doLogin() {
  const code = await loginCode()
  const body = { code }
  const scene = wx.getStorageSync(SCENE_KEY)
  if (scene) body.scene = scene
  const res = await send('POST', url('login'), body, { 'content-type': 'application/json' })
  if (res.status !== 200) {
    logFailure('POST', 'login', res.status, res.data && res.data.code)
    throw toError(res.status, res.data)
  }
  const data = res.data
  const s = { token: data.token, cardNo: data.card_no,
    expiresAt: Date.now() + data.expires_in * 1000 }
  wx.setStorageSync(TOKEN_KEY, s)
  if (scene) wx.removeStorageSync(SCENE_KEY) // a referral counts on the first login only
  return Object.assign({ created: data.created }, s)
}

// Log in (once, however many callers ask at the same moment).
function login() {
  if (!loginInFlight) {
    loginInFlight = doLogin().finally(() => { loginInFlight = null })
  }
  return loginInFlight
}

// A token with time left on it: the stored one, or a new login.
async function validToken() {
  const s = session()
  if (s && s.expiresAt - Date.now() > config.renewBeforeSeconds * 1000) return s.token
  return (await login()).token
}

// -- requests -------------------------------------------------------------------------------
// opts: data, header, auth (default true), quiet (no dialog; the caller shows the error).
async function request(method, path, opts = {}) {
  try {
    return await attempt(method, path, opts)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    if (!opts.quiet) showError(err)
    throw err
  }
}

async function attempt(method, path, opts) {
  const auth = opts.auth !== false
  const header = Object.assign({ 'content-type': 'application/json' }, opts.header)
  let token = auth ? await validToken() : null
  for (let tries = 0; ; tries += 1) {
    if (token) header.Authorization = 'Bearer ' + token
    const res = await send(method, url(path), opts.data, header)
    if (res.status >= 200 && res.status < 300) return res.data
    const err = toError(res.status, res.data)
    logFailure(method, path, res.status, err.code)
    // An expired or refused token: log in again, once, and repeat the call once. A token
    // renewed meanwhile by another call is simply used.
    if (auth && res.status === 401 && RELOGIN_CODES.includes(err.code) && tries === 0) {
      const current = session()
      if (current && current.token !== token) {
        token = current.token
      } else {
        clearSession()
        token = (await login()).token
      }
      continue
    }
    throw err
  }
}

const get = (path, opts) => request('GET', path, opts)

function query(params) {
  const parts = Object.keys(params).filter((k) => params[k] !== undefined && params[k] !== null)
    .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(params[k]))
  return parts.length ? '?' + parts.join('&') : ''
}

module.exports = {
  ApiError, login, session, clearSession, setLaunchScene, request, showError,
  card: (opts) => get('me/card', opts),
  points: (before, limit = 20) => get('me/points' + query({ before, limit })),
  tiers: () => get('me/tiers'),
  coupons: (status, before) => get('me/coupons' + query({ status, before })),
  gifts: () => get('gifts'),
  // key: the Idempotency-Key of this one tap (the same again on a retry of that tap)
  redeem: (giftId, quantity, key, opts = {}) => request('POST', 'me/redemptions',
    Object.assign({ data: { gift_id: giftId, quantity }, header: { 'Idempotency-Key': key } },
      opts)),
  redemptions: (before) => get('me/redemptions' + query({ before })),
  memberCode: () => get('me/member-code'),
  profile: () => get('me/profile'),
  setName: (name) => request('PUT', 'me/profile/name', { data: { name } }),
  setBirthday: (birthday) => request('PUT', 'me/profile/birthday', { data: { birthday } }),
  setPhone: (code) => request('PUT', 'me/profile/phone', { data: { code } }),
  referralCode: () => get('me/referral/code'),
  referralResults: () => get('me/referral/results'),
  subscriptions: () => get('me/subscriptions'),
  recordSubscriptions: (results) => request('POST', 'me/subscriptions', { data: { results },
    quiet: true }),
  balance: (before) => get('me/balance' + query({ before })),
  rechargeOptions: () => get('recharge/options'),
  // 储值充值 (docs/miniprogram.md#recharge). body: {option_fen} (a rung's amount_fen) or
  // {amount_fen}; answers {order, payment (wx.requestPayment's arguments), reused}. An order
  // is {out_trade_no, purpose, amount_fen, bonus_fen, status (created | paid | closed |
  // failed), status_zh, created_at, expires_at, paid_at}.
  createRecharge: (body) => request('POST', 'me/recharges', { data: body }),
  order: (outTradeNo) => get('me/orders/' + encodeURIComponent(outTradeNo), { quiet: true }),
  cancelOrder: (outTradeNo) => request('POST', 'me/orders/' + encodeURIComponent(outTradeNo) +
    '/cancel', { quiet: true }),
  // 到店买单 (docs/miniprogram.md#到店买单). The open stores: {stores: [{code, name, city,
  // address}]}.
  stores: (opts) => get('stores', opts),
  // A quote, writing nothing: {store, amount_fen, undiscounted_fen (不参与优惠金额 asked for,
  // 0: none), member_fen, benefit_fen, benefit, coupon,
  // usable_coupons, points_max, points_used, payable_fen, points_to_earn, balance_fen}. Quiet:
  // the page shows a refusal (a coupon or points refused, a closed store) under the amount.
  storeCheckout: (code, { amount_fen, coupon, points, undiscounted_fen } = {}, opts = {}) =>
    get('stores/' + encodeURIComponent(code) + '/checkout' + query({ amount_fen,
      coupon: coupon || undefined, points: points || undefined,
      undiscounted_fen: undiscounted_fen || undefined }), Object.assign({ quiet: true }, opts)),
  // body: {store_code, amount_fen, undiscounted_fen?, coupon?, points?, pay_with: balance |
  // wechat}; key: the
  // Idempotency-Key of this one tap (the same again on a retry of that tap). Answers
  // {payment, request_payment (wx.requestPayment's arguments, null when paid at once),
  // replayed}.
  payStore: (body, key, opts = {}) => request('POST', 'me/store-payments',
    Object.assign({ data: body, header: { 'Idempotency-Key': key } }, opts)),
  // {payment}; quiet: the page polls it.
  storePayment: (outTradeNo) => get('me/store-payments/' + encodeURIComponent(outTradeNo),
    { quiet: true }),
}
