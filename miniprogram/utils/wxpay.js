// Paying a WeChat Pay order the API made (recharges, 到店买单): wx.requestPayment
// with the arguments the API answered (RequestPaymentOut: appId, timeStamp, nonceStr,
// package, signType, paySign), as a promise; and the pause between polls of the order.

// wx.requestPayment's own arguments from the API's (appId is the mini-program's own).
function paymentParams(p) {
  return { timeStamp: String(p.timeStamp), nonceStr: p.nonceStr, package: p.package,
    signType: p.signType || 'RSA', paySign: p.paySign }
}

// Resolves when the member paid; rejects with wx's answer (errMsg says cancel or fail).
function requestPayment(answered) {
  return new Promise((resolve, reject) => wx.requestPayment(Object.assign(
    paymentParams(answered), { success: resolve, fail: reject })))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

module.exports = { paymentParams, requestPayment, sleep }
