// `wx` for Node: what utils/api.js calls, over real HTTP (Node's fetch) and memory storage.
// No wx.login: config.sandboxUrl makes utils/api.js ask the sandbox for the login code, as
// the demo does.
function install() {
  const storage = new Map()
  const shown = []
  global.wx = {
    request({ url, method, data, header, success, fail }) {
      const body = data === undefined || method === 'GET' ? undefined : JSON.stringify(data)
      fetch(url, { method, headers: header, body }).then(async (res) => {
        const text = await res.text()
        let parsed = text
        try { parsed = JSON.parse(text) } catch (e) { /* not JSON: left as text */ }
        success({ statusCode: res.status, data: parsed, header: {} })
      }, (err) => fail({ errMsg: 'request:fail ' + err.message }))
    },
    login({ fail }) { fail({ errMsg: 'login:fail no WeChat in Node' }) },
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, JSON.parse(JSON.stringify(v))),
    removeStorageSync: (k) => storage.delete(k),
    showModal: (opts) => shown.push(opts.content),
    showToast() {},
  }
  return { storage, shown }
}

module.exports = { install }
