/* Long forms and lists (loaded on every page; does nothing where its markers are absent):
 * - [data-check-all="name"] ticks every checkbox named `name` of its form (batch actions 对所选项…);
 * - form[data-autosave="url"] posts the form to `url` a few seconds after the last edit and on leaving the page
 *   (fetch keepalive), and shows "已自动保存 hh:mm" in [data-autosave-status];
 * - form[data-dirty-warn] (and every autosave form) warns before leaving with edits not yet saved. */
(function () {
  document.addEventListener('change', function (ev) {
    var all = ev.target.closest('[data-check-all]');
    if (!all) return;
    var scope = all.form || document;
    scope.querySelectorAll('input[type=checkbox][name="' + all.getAttribute('data-check-all') + '"]')
      .forEach(function (box) { box.checked = all.checked; });
  });

  document.querySelectorAll('form[data-autosave], form[data-dirty-warn]').forEach(function (form) {
    var url = form.getAttribute('data-autosave');
    var delay = parseInt(form.getAttribute('data-autosave-delay') || '5000', 10);
    var status = document.querySelector('[data-autosave-status]');
    var dirty = false, submitting = false, timer = null, inflight = false, again = false;

    function body() {
      var data = new FormData(form);
      // Files are uploaded with 保存草稿 only; autosave sends the text.
      Array.from(data.keys()).forEach(function (k) { if (data.get(k) instanceof File) data.delete(k); });
      data.delete('action');
      return data;
    }
    function show(text, tone) {
      if (!status) return;
      status.textContent = text || '';
      status.classList.remove('text-muted', 'text-success', 'text-danger');
      status.classList.add(tone);
    }
    function save(leaving) {
      if (!url || !dirty) return;
      if (inflight && !leaving) { again = true; return; }
      inflight = true;
      dirty = false;
      var sent = fetch(url, {method: 'POST', body: body(), credentials: 'same-origin', keepalive: !!leaving,
                             headers: {'X-Requested-With': 'fetch', 'Accept': 'application/json'}});
      if (leaving) return;
      sent.then(function (r) { return r.json().then(function (j) { return {ok: r.ok, j: j}; }); })
        .then(function (res) {
          show(res.j.message, res.ok ? 'text-success' : 'text-danger');
          if (!res.ok) dirty = true;
        })
        .catch(function () { dirty = true; show(status && status.getAttribute('data-failed'), 'text-danger'); })
        .then(function () { inflight = false; if (again) { again = false; save(false); } });
    }
    function edited() {
      dirty = true;
      if (!url) return;
      show(status && status.getAttribute('data-pending'), 'text-muted');
      clearTimeout(timer);
      timer = setTimeout(function () { save(false); }, delay);
    }
    form.addEventListener('input', edited);
    form.addEventListener('change', edited);
    form.addEventListener('submit', function () { submitting = true; clearTimeout(timer); });
    window.addEventListener('pagehide', function () { if (!submitting) save(true); });
    window.addEventListener('beforeunload', function (ev) {
      if (dirty && !submitting) { ev.preventDefault(); ev.returnValue = ''; return ''; }
    });
  });
})();
