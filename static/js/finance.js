// Forms marked data-once send once: the button is disabled on submit, so a double click sends one
// request (the server refuses a second one anyway).
document.querySelectorAll("form[data-once]").forEach(function (form) {
  form.addEventListener("submit", function () {
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  });
});
