// The console's only script: asks before destructive buttons (data-confirm="...").
document.addEventListener("submit", function (e) {
  var b = e.submitter, msg = (b && b.dataset.confirm) || e.target.dataset.confirm;
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});
