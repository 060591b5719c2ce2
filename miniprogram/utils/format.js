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

// An amount the member typed in 元 → {fen} (an integer), or {error} (a Chinese hint). The
// string is read digit by digit, never through a float: '19.99' is 1999 fen, not 1998.
function parseYuan(text) {
  const s = String(text === undefined || text === null ? '' : text).trim()
  if (!s) return { error: '请输入金额' }
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s)
  if (!m || (!m[1] && !m[2])) return { error: '请输入正确的金额' }
  const whole = m[1].replace(/^0+/, '')
  const cents = m[2] || ''
  if (cents.length > 2) return { error: '金额最多两位小数' }
  if (whole.length > 6) return { error: '单笔金额不能超过 500000 元' }
  const fen = Number(whole || 0) * 100 + Number(cents.padEnd(2, '0'))
  if (fen <= 0) return { error: '金额须大于 0' }
  if (fen > MAX_FEN) return { error: '单笔金额不能超过 500000 元' }
  return { fen }
}

function signed(n) {
  return (n > 0 ? '+' : '') + n
}

module.exports = { yuan, dateTime, clock, signed, parseYuan, MAX_FEN }
