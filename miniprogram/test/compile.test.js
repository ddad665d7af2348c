// Every .wxml and .wxss of the app goes through WeChat's own compilers (wcc / wcsc, shipped
// in miniprogram-compiler), the way WeChat DevTools would build them. They are x64 binaries.
const fs = require('fs')
const path = require('path')
const {ROOT} = require('./helpers')

const runnable = process.arch === 'x64' && ['linux', 'darwin', 'win32'].includes(process.platform)
const maybe = runnable ? test : test.skip

function files(ext) {
  const out = []
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      if (e.name === 'node_modules' || e.name === 'test' || e.name.startsWith('.')) continue
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(ext)) out.push(path.relative(ROOT, p).split(path.sep).join('/'))
    }
  }
  walk(ROOT)
  return out.sort()
}

test('the app has the files WeChat DevTools expects', () => {
  const must = ['app.js', 'app.json', 'project.config.json', 'sitemap.json']
  for (const base of ['components/openroom-room/index', 'components/openroom-sketchpad/index', 'pages/index/index', 'pages/room/index']) {
    for (const ext of ['.js', '.json', '.wxml', '.wxss']) must.push(base + ext)
  }
  for (const f of must) expect(fs.existsSync(path.join(ROOT, f))).toBe(true)
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
  for (const p of app.pages) expect(fs.existsSync(path.join(ROOT, p + '.js'))).toBe(true)
  const comp = JSON.parse(fs.readFileSync(path.join(ROOT, 'components/openroom-room/index.json'), 'utf8'))
  expect(comp.component).toBe(true)
  JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))
})

maybe('all .wxml compile with wcc', () => {
  const compiler = require('miniprogram-compiler')
  const list = files('.wxml')
  expect(list).toEqual(['components/openroom-room/index.wxml', 'components/openroom-sketchpad/index.wxml', 'pages/index/index.wxml', 'pages/room/index.wxml'])
  // eslint-disable-next-line no-new-func
  const gwx = new Function(compiler.wxmlToJs(ROOT, {wxmlList: list}))()
  for (const f of list) expect(typeof gwx(f)).toBe('function')
})

maybe('all .wxss compile with wcsc', () => {
  const compiler = require('miniprogram-compiler')
  const list = files('.wxss')
  expect(list).toEqual(['app.wxss', 'components/openroom-room/index.wxss', 'components/openroom-sketchpad/index.wxss', 'pages/index/index.wxss', 'pages/room/index.wxss'])
  const js = compiler.wxssToJs(ROOT, {wxssList: list})
  for (const f of list) expect(js).toContain(`'${f}'`)
})
