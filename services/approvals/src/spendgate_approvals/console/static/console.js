// spendgate console: the confirm countdown and double-submit protection. Everything works without it.
"use strict";

(function () {
  function format(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function startCountdown(timer) {
    // Relative to this page's load, so a skewed clock on the phone cannot shorten or stretch the window.
    var deadline = Date.now() + Number(timer.dataset.seconds) * 1000;
    var box = timer.closest(".confirm-step");
    function tick() {
      var left = (deadline - Date.now()) / 1000;
      timer.textContent = format(left);
      if (left > 0) {
        window.setTimeout(tick, 250);
        return;
      }
      if (box) {
        box.classList.add("expired");
        box.querySelectorAll("[data-countdown-form] button").forEach(function (b) { b.disabled = true; });
        var note = box.querySelector("[data-countdown-expired]");
        if (note) { note.hidden = false; }
      }
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-countdown]").forEach(startCountdown);
    // A second click would only repeat an idempotent request, but it confuses people: disable on submit.
    document.querySelectorAll("form[method='post']").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
      });
    });
  });

  // Pages restored from the back/forward cache must not keep their buttons disabled.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = false; });
    }
  });
})();
