// Editable child rows: a button [data-add-row=NAME] clones <template id="row-tpl-NAME"> into
// #rows-NAME, replacing __prefix__ with a fresh index; [data-remove-row] removes its .child-row.
(function () {
  "use strict";
  function nextIndex(container) {
    var max = -1;
    container.querySelectorAll("[name]").forEach(function (el) {
      var m = el.name.match(/^[a-z_]+-(\d+)-/);
      if (m) { max = Math.max(max, parseInt(m[1], 10)); }
    });
    var counter = parseInt(container.dataset.next || "0", 10);
    var idx = Math.max(max + 1, counter);
    container.dataset.next = String(idx + 1);
    return idx;
  }
  // Live sums: <span data-sum-of="LIST" data-sum-field="FIELD" data-sum-target="100"> shows the total
  // of the FIELD inputs in #rows-LIST, so the officer sees "90 / 100" before saving.
  function updateSums() {
    document.querySelectorAll("[data-sum-of]").forEach(function (out) {
      var container = document.getElementById("rows-" + out.getAttribute("data-sum-of"));
      if (!container) { return; }
      var suffix = "-" + out.getAttribute("data-sum-field");
      var total = 0, cells = 0;
      container.querySelectorAll("input").forEach(function (el) {
        if (el.name.slice(-suffix.length) === suffix) {
          cells += 1;
          var v = parseInt(el.value, 10);
          if (!isNaN(v)) { total += v; }
        }
      });
      var target = parseInt(out.getAttribute("data-sum-target") || "100", 10);
      out.hidden = cells === 0;
      out.textContent = total + " / " + target;
      out.classList.toggle("text-bg-success", total === target);
      out.classList.toggle("text-bg-warning", total !== target);
    });
  }
  document.addEventListener("input", updateSums);
  document.addEventListener("DOMContentLoaded", updateSums);
  document.addEventListener("click", function () { window.setTimeout(updateSums, 0); });

  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-add-row]");
    if (add) {
      ev.preventDefault();
      var name = add.getAttribute("data-add-row");
      var tpl = document.getElementById("row-tpl-" + name);
      var container = document.getElementById("rows-" + name);
      if (!tpl || !container) { return; }
      var html = tpl.innerHTML.replace(/__prefix__/g, String(nextIndex(container)));
      container.insertAdjacentHTML("beforeend", html);
      var rows = container.querySelectorAll(".child-row");
      var first = rows[rows.length - 1].querySelector("input:not([type=hidden]):not([type=checkbox]), select");
      if (first) { first.focus(); }
      return;
    }
    var remove = ev.target.closest("[data-remove-row]");
    if (remove) {
      ev.preventDefault();
      var row = remove.closest(".child-row");
      if (row) { row.parentNode.removeChild(row); }
    }
  });
})();
