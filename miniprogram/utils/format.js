// Display helpers: money in fen → 元, UTC instants → local dates and times.
function yuan(fen) {
  const n = Number(fen || 0)
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  return sign + Math.floor(abs / 100) + '.' + String(abs % 100).padStart(2, '0')
}

function pad(n) {
  return String(n).padStart(2, '0')
}

function dateTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (isNaN(d.getTime())) return String(iso)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

function signed(n) {
  return (n > 0 ? '+' : '') + n
}

module.exports = { yuan, dateTime, signed }
