// Idempotency keys: a random UUID (version 4) for each tap on 兑换.
function randomBytes(n) {
  if (typeof crypto !== 'undefined' && crypto.getRandomValues) {
    return Array.from(crypto.getRandomValues(new Uint8Array(n)))
  }
  const out = []
  for (let i = 0; i < n; i += 1) out.push(Math.floor(Math.random() * 256))
  return out
}

function newKey() {
  const b = randomBytes(16)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const hex = b.map((x) => (x + 0x100).toString(16).slice(1)).join('')
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
    hex.slice(20)].join('-')
}

module.exports = { newKey }
