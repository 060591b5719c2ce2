// 到店买单 (pages/pay/pay.js): what the page shows of a quote and of a payment, and the
// 不参与优惠金额 typed (the part of the bill the cashier says gets no discount).
const { yuan, dateTime, parseYuan } = require('../../utils/format.js')

const OVER = '不参与优惠金额不能超过消费金额'

function quoteView(q) {
  return {
    amount: yuan(q.amount_fen),
    undiscounted: q.undiscounted_fen > 0 ? yuan(q.undiscounted_fen) : '',
    benefit: q.benefit || '',
    benefitSaving: q.benefit_fen > 0 ? yuan(q.benefit_fen) : '',
    couponTitle: q.coupon ? q.coupon.title : '',
    couponSaving: q.coupon ? yuan(q.coupon.saving_fen) : '',
    pointsMax: q.points_max.points,
    pointsMaxYuan: yuan(q.points_max.fen),
    pointsUsed: q.points_used.points,
    pointsUsedYuan: yuan(q.points_used.fen),
    payable: yuan(q.payable_fen),
    pointsToEarn: q.points_to_earn,
    balance: yuan(q.balance_fen),
    short: q.balance_fen < q.payable_fen,
  }
}

function resultView(p) {
  return {
    storeName: p.store.name,
    amount: yuan(p.amount_fen),
    undiscounted: p.undiscounted_fen > 0 ? yuan(p.undiscounted_fen) : '',
    saving: p.amount_fen > p.payable_fen ? yuan(p.amount_fen - p.payable_fen) : '',
    payable: yuan(p.payable_fen),
    payWith: p.pay_with === 'balance' ? '储值支付' : '微信支付',
    points: p.points_earned || 0,
    paidAt: dateTime(p.paid_at, true),
    balance: p.balance_fen === null || p.balance_fen === undefined ? '' : yuan(p.balance_fen),
  }
}

// The 不参与优惠金额 typed, as parseYuan reads an amount, but nothing or 0 is none (0 fen);
// more than the amount (`amountFen`, when there is one) is refused.
function parseUndiscounted(text, amountFen) {
  const s = String(text === undefined || text === null ? '' : text).trim()
  if (!s || /^0+\.?0*$|^\.0+$/.test(s)) return { fen: 0 }
  const parsed = parseYuan(s)
  if (parsed.error) return parsed
  if (amountFen && parsed.fen > amountFen) return { error: OVER }
  return parsed
}

module.exports = { quoteView, resultView, parseUndiscounted }
