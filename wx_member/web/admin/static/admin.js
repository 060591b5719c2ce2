// The console's only script (no CDN, no inline scripts). Loaded in <head>, before any form
// exists: at the end of <body> a button could be clicked while the script was still on
// its way (a slow phone, or a browser test), and the question below was never asked.
// 1. Asks before destructive or large changes (data-confirm="..." on the button or form;
//    data-confirm-large="N" on a form asks also when its number field exceeds ±N: the
//    field named by data-confirm-field, default "delta", in data-confirm-unit, default 积分;
//    data-confirm-from="NAME" asks the data-confirm of the option chosen in select NAME, so
//    the question names what was picked: 群发 says the tag and how many members carry it).
document.addEventListener("submit", function (e) {
  var b = e.submitter, form = e.target, msg = (b && b.dataset.confirm) || form.dataset.confirm;
  var from = form.dataset.confirmFrom && form.querySelector("select[name=" + form.dataset.confirmFrom + "]");
  var picked = from && from.options[from.selectedIndex];
  if (picked && picked.dataset.confirm) { msg = picked.dataset.confirm; }
  var limit = form.dataset.confirmLarge;
  var field = form.querySelector("input[name=" + (form.dataset.confirmField || "delta") + "]");
  var amount = field ? parseFloat(field.value.replace(/[¥￥,元\s]/g, "").replace("－", "-")) : NaN;
  if (limit && field && Math.abs(amount) > parseFloat(limit)) {
    msg = "调整幅度较大（" + field.value + " " + (form.dataset.confirmUnit || "积分") + "），确认提交？";
  }
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});
// 2. On a phone a table becomes a list of cards: each cell carries its column's name
//    (once the page's tables are there).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (heads[i] && !td.hasAttribute("colspan") && !td.dataset.label) { td.dataset.label = heads[i]; }
      });
    });
  });
});
// 3. A select with data-fills="NAME" puts its chosen option's data-fill into field NAME,
//    unless the operator typed something else there (群发's name follows the tag picked).
document.addEventListener("change", function (e) {
  var sel = e.target, name = sel.dataset && sel.dataset.fills;
  var field = name && sel.form && sel.form.elements[name];
  var picked = field && sel.options[sel.selectedIndex];
  if (picked && picked.dataset.fill && field.value === field.dataset.filled) {
    field.value = field.dataset.filled = picked.dataset.fill;
  }
});
