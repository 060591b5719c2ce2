// Display helpers: money in fen → 元 (and a typed 元 amount → fen), UTC instants → local
// dates and times.
function yuan(fen) {
  const n = Number(fen || 0)
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  return sign + Math.floor(abs / 100) + '.' + String(abs % 100).padStart(2, '0')
}

function pad(n) {
  return String(n).padStart(2, '0')
}

// withSeconds: HH:MM:SS rather than HH:MM.
function dateTime(iso, withSeconds) {
  if (!iso) return ''
  const d = new Date(iso)
  if (isNaN(d.getTime())) return String(iso)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}` + (withSeconds ? ':' + pad(d.getSeconds()) : '')
}

// The local time of day of a Date, HH:MM:SS.
function clock(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

const MAX_FEN = 50000000 // the API's largest amount (500,000 元)

// Whole 元 without decimals, else with two: 100 → '1', 50 → '0.50' (for the hints).
function yuanWords(fen) {
  return fen % 100 === 0 ? String(fen / 100) : yuan(fen)
}

// An amount the member typed in 元 → {fen} (an integer), or {error} (a Chinese hint). The
// string is read digit by digit, never through a float: '19.99' is 1999 fen, not 1998.
// limits (optional): {minFen, maxFen}, the use's own (a recharge: 1 元 to 500,000 元); by
// default more than 0 and at most MAX_FEN.
function parseYuan(text, limits) {
  const minFen = (limits && limits.minFen) || 1
  const maxFen = (limits && limits.maxFen) || MAX_FEN
  const tooMuch = `单笔金额不能超过 ${yuanWords(maxFen)} 元`
  const s = String(text === undefined || text === null ? '' : text).trim()
  if (!s) return { error: '请输入金额' }
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s)
  if (!m || (!m[1] && !m[2])) return { error: '请输入正确的金额' }
  const whole = m[1].replace(/^0+/, '')
  const cents = m[2] || ''
  if (cents.length > 2) return { error: '金额最多两位小数' }
  if (whole.length > String(Math.floor(maxFen / 100)).length) return { error: tooMuch }
  const fen = Number(whole || 0) * 100 + Number(cents.padEnd(2, '0'))
  if (fen <= 0) return { error: '金额须大于 0' }
  if (fen < minFen) return { error: `单笔金额不能低于 ${yuanWords(minFen)} 元` }
  if (fen > maxFen) return { error: tooMuch }
  return { fen }
}

function signed(n) {
  return (n > 0 ? '+' : '') + n
}

module.exports = { yuan, yuanWords, dateTime, clock, signed, parseYuan, MAX_FEN }
