// The few things htmx cannot do: tick the server's countdown and return to the shop.
(function () {
  "use strict";

  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // The server renders the seconds left; we only count them down, from our own monotonic
  // clock, so a wrong wall clock on the buyer's device changes nothing.
  function startCountdowns(root) {
    root.querySelectorAll("time[data-countdown]").forEach(function (el) {
      if (el.dataset.ticking) return;
      el.dataset.ticking = "1";
      var end = performance.now() + Number(el.dataset.countdown) * 1000;
      function tick() {
        if (!el.isConnected) return;
        var left = Math.max(0, Math.floor((end - performance.now()) / 1000));
        el.textContent = left > 0 ? format(left) : el.dataset.expiredText;
        if (left <= 60) el.classList.add("soon");
        if (left > 0) setTimeout(tick, 1000 - ((end - performance.now()) % 1000));
      }
      tick();
    });
  }

  function scheduleReturn(root) {
    root.querySelectorAll("a[data-return-after]").forEach(function (a) {
      if (a.dataset.scheduled) return;
      a.dataset.scheduled = "1";
      setTimeout(function () {
        if (a.isConnected) window.top.location.href = a.href;
      }, Number(a.dataset.returnAfter) * 1000);
    });
  }

  function init(root) {
    startCountdowns(root);
    scheduleReturn(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
