// Application form: add/remove repeating rows and live budget totals. Works without it too
// (the server recomputes and checks everything); amounts are handled in integer fen here as well.
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form) return;

  function nextIndex(container, section) {
    var max = -1;
    container.querySelectorAll("[name^='" + section + "-']").forEach(function (el) {
      var m = el.name.match(/^[a-z]+-(\d+)-/);
      if (m) max = Math.max(max, parseInt(m[1], 10));
    });
    return max + 1;
  }

  form.addEventListener("click", function (ev) {
    var add = ev.target.closest(".row-add");
    if (add) {
      var section = add.dataset.section;
      var container = form.querySelector(".rows[data-section='" + section + "']");
      var tpl = form.querySelector("template[data-for='" + section + "']");
      var html = tpl.innerHTML.replace(/__i__/g, String(nextIndex(container, section)));
      container.insertAdjacentHTML("beforeend", html);
      recalc();
      return;
    }
    var remove = ev.target.closest(".row-remove");
    if (remove) {
      var row = remove.closest(".row-item");
      var rows = row.parentElement;
      if (rows.querySelectorAll(".row-item").length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input:not([type=checkbox]), textarea").forEach(function (el) { el.value = ""; });
      }
      recalc();
    }
  });

  function toFen(text) {
    var t = String(text || "").replace(/[,\uFF0C\u00A5\uFFE5\s\u5143]/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
    var parts = t.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function fmt(fen) {
    var s = String(Math.floor(fen / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "¥" + s + "." + String(fen % 100).padStart(2, "0");
  }
  function pct(part, whole) { return whole > 0 ? (part * 100 / whole).toFixed(1) + "%" : "—"; }

  function recalc() {
    var grant = 0, own = 0, personnel = 0, management = 0;
    form.querySelectorAll(".budget-row").forEach(function (row) {
      var price = toFen(row.querySelector(".b-price").value);
      var qty = parseInt(row.querySelector(".b-qty").value, 10);
      var amount = (price !== null && qty > 0) ? price * qty : 0;
      row.querySelector(".b-amount").textContent = fmt(amount);
      if (row.querySelector(".b-funded").value === "own") { own += amount; return; }
      grant += amount;
      var kind = row.querySelector(".b-kind").value;
      if (kind === "personnel") personnel += amount;
      if (kind === "management") management += amount;
    });
    var totals = document.getElementById("budget-totals");
    document.getElementById("t-grant").textContent = fmt(grant);
    document.getElementById("t-own").textContent = fmt(own);
    document.getElementById("t-total").textContent = fmt(grant + own);
    document.getElementById("t-shares").textContent =
      pct(personnel, grant) + " / " + pct(management, grant) + " / " + pct(own, grant + own);
    var warnings = [];
    var requested = toFen(document.getElementById("f-requested").value);
    if (requested !== null && grant > 0 && requested !== grant) warnings.push(totals.dataset.msgMismatch);
    var pmax = totals.dataset.personnelMax, mmax = totals.dataset.managementMax, omin = totals.dataset.ownMin;
    if (pmax !== "" && grant > 0 && personnel * 100 > pmax * grant) warnings.push(totals.dataset.msgPersonnel + " " + pmax + "%");
    if (mmax !== "" && grant > 0 && management * 100 > mmax * grant) warnings.push(totals.dataset.msgManagement + " " + mmax + "%");
    if (omin !== "" && grant + own > 0 && own * 100 < omin * (grant + own)) warnings.push(totals.dataset.msgOwn + " " + omin + "%");
    document.getElementById("t-warning").textContent = warnings.join("；");
  }

  form.addEventListener("input", recalc);
  form.addEventListener("change", recalc);
  recalc();
})();
