/* The console's own script (no inline scripts: the CSP forbids them).  Pages work without
   it; it adds what a busy office needs:
   - every htmx request carries the session's CSRF token (read from <meta name="csrf-token">);
   - a form being filled is kept in this tab's sessionStorage, so a session that expired
     while typing comes back filled after signing in again; it is forgotten once sent.
     Fields marked data-no-keep (files, secrets) are never kept. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (meta && meta.content) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  function keyOf(form) { return "damrong-form:" + location.pathname + ":" + (form.id || form.getAttribute("action") || ""); }
  function keepable(el) {
    return el.name && el.type !== "file" && el.type !== "password" && el.type !== "hidden" &&
      !el.hasAttribute("data-no-keep");
  }
  document.querySelectorAll("form[data-keep]").forEach(function (form) {
    var key = keyOf(form);
    var saved = sessionStorage.getItem(key);
    if (saved && !form.hasAttribute("data-sent")) {
      try {
        var values = JSON.parse(saved);
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!keepable(el) || !(el.name in values)) { return; }
          if (el.type === "checkbox" || el.type === "radio") { el.checked = values[el.name].indexOf(el.value) >= 0; }
          else if (!el.value) { el.value = values[el.name][0]; }
        });
      } catch (e) { sessionStorage.removeItem(key); }
    }
    if (form.hasAttribute("data-sent")) { sessionStorage.removeItem(key); }
    form.addEventListener("input", function () {
      var values = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!keepable(el)) { return; }
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
        (values[el.name] = values[el.name] || []).push(el.value);
      });
      sessionStorage.setItem(key, JSON.stringify(values));
    });
  });

  /* One submission per form: a double-click sends once (the server's idempotency key
     makes a resubmission safe as well). */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-submitting")) { event.preventDefault(); return; }
    form.setAttribute("data-submitting", "");
    setTimeout(function () { form.removeAttribute("data-submitting"); }, 5000);
  });

  /* "Select all" boxes for tables of cases. */
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.matches("input[data-select-all]")) { return; }
    document.querySelectorAll('input[name="' + all.getAttribute("data-select-all") + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
