// What WeChat's developer tools import: every page of app.json complete, its template and
// styles compiled by WeChat's own compilers (wcc, wcsc from miniprogram-compiler), its JS
// run; nothing loaded from another host.
const fs = require('fs')
const path = require('path')
const compiler = require('miniprogram-compiler')
const { ROOT, load, install, render } = require('./fake-wx')

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const list = (dirs, ext) => dirs.flatMap((d) => walk(path.join(ROOT, d)))
  .filter((f) => f.endsWith(ext)).map((f) => path.relative(ROOT, f))

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}

test.each(app.pages)('%s is complete, compiles and renders', (page) => {
  for (const ext of ['.js', '.json', '.wxml', '.wxss']) {
    expect(fs.existsSync(path.join(ROOT, page + ext))).toBe(true)
  }
  JSON.parse(fs.readFileSync(path.join(ROOT, page + '.json'), 'utf8'))
  install({})
  const comp = render(load(page)) // wcc compiles the WXML; the page's JS runs
  expect(comp.dom).toBeTruthy()
})

test('every WXSS compiles with wcsc, WeUI first', () => {
  const wxss = ['app.wxss', ...list(['vendor', 'pages', 'components'], '.wxss')]
  expect(wxss).toContain('vendor/weui.wxss')
  const js = compiler.wxssToJs(ROOT, { wxssList: wxss })
  expect(js.length).toBeGreaterThan(100000)
})

test('every WXML compiles with wcc', () => {
  const wxml = list(['pages', 'components'], '.wxml').map((f) => f.replace(/\.wxml$/, ''))
  expect(compiler.wxmlToJs(ROOT, { wxmlList: wxml.map((f) => f + '.wxml'), wxsList: [] }))
    .toContain('$gwx')
})

test('the project file has a placeholder appid and uploads no tests or node_modules', () => {
  const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))
  expect(project.appid).toBe('wx0000000000000000')
  expect(project.compileType).toBe('miniprogram')
  const ignored = project.packOptions.ignore.map((i) => i.value)
  expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'tests', 'package.json']))
})

test('nothing is loaded from a CDN or another host; the demo settings are off', () => {
  const files = ['app.js', 'app.wxss', ...list(['pages', 'components', 'utils'], '')]
  for (const f of files) {
    expect([f, fs.readFileSync(path.join(ROOT, f), 'utf8').match(/https?:\/\/[^\s'"]+/g)])
      .toEqual([f, null])
  }
  const config = require('../../config.js')
  expect(config.sandboxUrl).toBe('')
})
