// 其他金额 on the recharge page: an amount of the member's own, read as pages/pay reads one
// (format.parseYuan: 元 digit by digit into integer fen), within the API's limits, and the
// bonus the ladder gives it. Pure functions, shared by the page and the live test.
const { yuan, parseYuan } = require('../../utils/format.js')

// POST /api/me/recharges {amount_fen}: 1 元 to 500,000 元 (wx_member/payments/wxpay_orders.py
// MIN_RECHARGE_FEN, MAX_RECHARGE_FEN; outside them 400 INVALID_AMOUNT 充值金额须在 1 元至
// 500000 元之间。). The live test checks the server refuses just outside these.
const RECHARGE_LIMITS = { minFen: 100, maxFen: 50000000 }

function parseRecharge(text) {
  return parseYuan(text, RECHARGE_LIMITS)
}

// The server's rule for a typed amount (stored_value.bonus_for): the bonus of the highest
// active rung the amount reaches, equal included (700 元 → 充500送50's 50 元). ladder: the
// rungs of GET /api/recharge/options ({amount_fen, bonus_fen, text}). null: below them all.
function rungReached(ladder, fen) {
  let best = null
  ;(ladder || []).forEach((o) => {
    if (o.amount_fen <= fen && (!best || o.amount_fen > best.amount_fen)) best = o
  })
  return best
}

// What the page shows for the text typed: {otherFen (0 while refused), otherHint, otherYuan,
// otherBonus (元, '' for none), otherRung (充500送50), otherTotal (元 credited)}.
function otherView(text, ladder) {
  const parsed = parseRecharge(text)
  if (parsed.error) {
    return { otherFen: 0, otherHint: parsed.error, otherYuan: '', otherBonus: '', otherRung: '',
      otherTotal: '' }
  }
  const rung = rungReached(ladder, parsed.fen)
  const bonus = rung ? rung.bonus_fen : 0
  return { otherFen: parsed.fen, otherHint: '', otherYuan: yuan(parsed.fen),
    otherBonus: bonus ? yuan(bonus) : '', otherRung: bonus ? rung.text : '',
    otherTotal: yuan(parsed.fen + bonus) }
}

module.exports = { RECHARGE_LIMITS, parseRecharge, rungReached, otherView }
