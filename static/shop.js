// The demo shop's embedded mode: what a merchant writes around embed.js.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.querySelector("[data-embed-checkout]");
    if (!holder || !window.TPayCheckout) return;
    window.TPayCheckout.open(holder.dataset.embedCheckout, {
      returnOnFinish: true,
      onStatus: function (m) { holder.dataset.lastStatus = m.status; }
    });
  });
})();
