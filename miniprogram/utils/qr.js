// The modules of a QR code, from the bundled encoder (vendor/qrcode.js, MIT).
const qrcode = require('../vendor/qrcode.js')

// The modules (true = dark) of a QR code of `text`: the smallest version that holds it,
// error correction M (a till's scanner reads a phone screen at any angle).
function modules(text) {
  const qr = qrcode(0, 'M')
  qr.addData(text, 'Byte')
  qr.make()
  const n = qr.getModuleCount()
  const rows = []
  for (let r = 0; r < n; r += 1) {
    const row = []
    for (let c = 0; c < n; c += 1) row.push(qr.isDark(r, c))
    rows.push(row)
  }
  return rows
}

module.exports = { modules }
