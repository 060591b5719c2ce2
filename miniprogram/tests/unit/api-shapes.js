// The recharge API's answers as the pages get them (wx_member/web/api/recharges.py):
// PayOrderOut, and CheckoutOut of POST /api/me/recharges (201). Shared by the tests of the
// card page's and the recharge page's flows.
const STATUS_ZH = { created: '待支付', paid: '已支付', closed: '已关闭', failed: '支付失败' }

const payOrder = (no, status, amount = 50000, bonus = 5000) => ({ out_trade_no: no,
  purpose: 'recharge', amount_fen: amount, bonus_fen: bonus, status,
  status_zh: STATUS_ZH[status],
  created_at: '2026-12-02T08:00:00Z', expires_at: '2026-12-02T08:15:00Z',
  paid_at: status === 'paid' ? '2026-12-02T08:00:30Z' : null })

const checkout = (no, amount, bonus) => ({ status: 201, data: {
  order: payOrder(no, 'created', amount, bonus), reused: false,
  payment: { appId: 'wxmini', timeStamp: '1764650000', nonceStr: 'n0nce',
    package: 'prepay_id=wx201410272009395522657a690389285100', signType: 'RSA',
    paySign: 'c2lnbmF0dXJl' } } })

module.exports = { payOrder, checkout }
