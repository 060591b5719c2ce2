// Two projects: `unit` renders pages and components with miniprogram-simulate (jsdom, the
// wx API mocked per test); `live` runs utils/api.js in Node against a running server and
// sandbox (BASE_URL, SANDBOX_URL), as tests/test_miniprogram.py starts them.
module.exports = {
  projects: [
    { displayName: 'unit', testEnvironment: 'jsdom', testMatch: ['<rootDir>/tests/unit/**/*.test.js'] },
    { displayName: 'live', testEnvironment: 'node', testMatch: ['<rootDir>/tests/live/**/*.test.js'] },
  ],
}
