// The member code: drawn locally as a QR code, fetched anew before it expires, never logged.
const fs = require('fs')
const path = require('path')
const { install, loggedIn, load, render, settle, ROOT } = require('./fake-wx')
const { modules } = require('../../utils/qr.js')

const CODE_1 = 'eyJhbGciOiJIUzI1NiJ9.first-member-code.sig1'
const CODE_2 = 'eyJhbGciOiJIUzI1NiJ9.second-member-code.sig2'

let page
beforeAll(() => { page = load('pages/code/code') })

test('the code is drawn on a canvas, fetched again 10 s before it expires, never logged', async () => {
  let n = 0
  const wx = install({ 'GET me/member-code': () => {
    n += 1
    return { data: { code: n === 1 ? CODE_1 : CODE_2, expires_in: 60, expires_at: 'x' } }
  } })
  loggedIn(wx)
  const drawn = []
  global.wx.createCanvasContext = () => {
    const ops = { rects: 0, draws: 0 }
    drawn.push(ops)
    return { setFillStyle() {}, fillRect() { ops.rects += 1 }, draw() { ops.draws += 1 } }
  }
  const logged = []
  const spies = ['log', 'info', 'warn', 'error', 'debug'].map((m) =>
    jest.spyOn(console, m).mockImplementation((...a) => logged.push(a.join(' '))))
  const timers = jest.spyOn(global, 'setTimeout')

  const comp = render(page)
  await comp.instance.onShow()
  await settle()
  expect(comp.dom.textContent).toContain('卡号 80000001234')
  const qr = comp.querySelector('#member-qr')
  expect(qr.data.text).toBe(CODE_1)
  const last = drawn[drawn.length - 1]
  expect(last.draws).toBe(1)
  expect(last.rects).toBeGreaterThan(100) // a background and the dark modules

  // The refresh is due at 50 s of the code's 60: run it now rather than wait.
  const refresh = timers.mock.calls.find((c) => c[1] === 50000)
  expect(refresh).toBeTruthy()
  timers.mockRestore()
  refresh[0]()
  await settle()
  expect(comp.querySelector('#member-qr').data.text).toBe(CODE_2)
  comp.instance.onUnload() // leaving the page stops the refreshing
  expect(comp.instance.timer).toBeNull()

  spies.forEach((s) => s.mockRestore())
  const everything = logged.join('\n') + JSON.stringify([...wx.storage.values()])
  expect(everything).not.toContain('member-code.sig')
})

test('the QR encoder gives a QR code: finder patterns in three corners', () => {
  const rows = modules(CODE_1)
  const n = rows.length
  expect(n).toBeGreaterThanOrEqual(21)
  expect((n - 17) % 4).toBe(0)
  const finder = (r, c) => [0, 6].every((i) => rows[r][c + i] && rows[r + i][c]) && rows[r + 3][c + 3]
  expect(finder(0, 0) && finder(0, n - 7) && finder(n - 7, 0)).toBe(true)
  expect(rows[n - 7][n - 7] && rows[n - 1][n - 1] && rows[n - 4][n - 4]).toBe(false)
})

test('the vendored files are the npm packages\' own, unchanged', () => {
  const same = (vendored, npm) => expect(fs.readFileSync(path.join(ROOT, vendored), 'utf8'))
    .toBe(fs.readFileSync(path.join(ROOT, 'node_modules', npm), 'utf8'))
  same('vendor/qrcode.js', 'qrcode-generator/dist/qrcode.js')
  same('vendor/weui.wxss', 'weui-wxss/dist/style/weui.wxss')
  expect(fs.readFileSync(path.join(ROOT, 'app.wxss'), 'utf8')).toContain('@import "vendor/weui.wxss"')
})
