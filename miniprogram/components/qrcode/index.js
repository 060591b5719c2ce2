// <qrcode text="…" size="220">: a QR code drawn on a canvas here, by the bundled encoder
// (vendor/qrcode.js, MIT): nothing leaves the phone to be drawn. The text is never logged.
const { modules } = require('../../utils/qr.js')

Component({
  properties: {
    text: { type: String, value: '' },
    size: { type: Number, value: 220 },
  },
  data: { drawn: 0 },
  observers: {
    'text, size': function () { this.draw() },
  },
  lifetimes: {
    ready() { this.draw() },
  },
  methods: {
    draw() {
      const { text, size } = this.data
      if (!text) return
      const rows = modules(text)
      const quiet = 2 // modules of white border
      const cell = size / (rows.length + quiet * 2)
      const ctx = wx.createCanvasContext('qr', this)
      ctx.setFillStyle('#ffffff')
      ctx.fillRect(0, 0, size, size)
      ctx.setFillStyle('#000000')
      rows.forEach((row, r) => row.forEach((dark, c) => {
        if (dark) {
          ctx.fillRect((c + quiet) * cell, (r + quiet) * cell, Math.ceil(cell), Math.ceil(cell))
        }
      }))
      ctx.draw()
      this.setData({ drawn: rows.length })
    },
  },
})
