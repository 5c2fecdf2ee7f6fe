/* Behaviour the pages need, kept out of the HTML so the Content-Security-Policy can forbid inline script.
 * data-confirm="…" on a button or form asks before submitting; .score-input fields add up into #live-total. */
(function () {
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('button[data-confirm], input[type=submit][data-confirm]');
    if (el && !window.confirm(el.getAttribute('data-confirm'))) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (form.hasAttribute && form.hasAttribute('data-confirm') && !window.confirm(form.getAttribute('data-confirm'))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();  // a cancelled submit must not reach data-once (which disables the button)
    }
  }, true);

  var inputs = document.querySelectorAll('.score-input'), out = document.getElementById('live-total');
  if (inputs.length && out) {
    var sum = function () {
      var t = 0;
      inputs.forEach(function (i) { var v = parseInt(i.value, 10); if (!isNaN(v)) t += v; });
      out.textContent = t;
    };
    inputs.forEach(function (i) { i.addEventListener('input', sum); });
  }
})();
