// T-Pay checkout, embedded in a merchant's page. One call:
//   TPayCheckout.open(checkoutUrl, {onStatus, onFinish, container, returnOnFinish})
// opens the checkout in a modal (or inside `container`), sizes the frame to its content, and
// reports the status. It trusts messages only from the checkout's own origin and this frame.
// Include it from the checkout's origin: <script src="https://checkout.example/static/embed.js">.
(function () {
  "use strict";

  function open(checkoutUrl, options) {
    options = options || {};
    var origin = new URL(checkoutUrl, window.location.href).origin;
    var frame = document.createElement("iframe");
    frame.src = checkoutUrl;
    frame.title = options.title || "T-Pay";
    frame.setAttribute("allow", "clipboard-write; screen-wake-lock");
    frame.style.cssText = "width:100%;max-width:30rem;height:36rem;border:0;display:block;" +
      "margin:0 auto;background:transparent";
    var overlay = null;
    if (options.container) {
      options.container.appendChild(frame);
    } else {
      overlay = document.createElement("div");
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", options.title || "T-Pay");
      overlay.setAttribute("data-tpay-checkout", "modal");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
        "background:rgba(0,0,0,.55);padding:2rem 1rem";
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = "\u00d7";
      close.setAttribute("aria-label", options.closeLabel || "Close");
      close.setAttribute("data-tpay-close", "");
      close.style.cssText = "position:fixed;top:.5rem;right:.75rem;font-size:2rem;" +
        "background:none;border:0;color:#fff;cursor:pointer";
      close.addEventListener("click", function () { handle.close(); });
      overlay.appendChild(close);
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      close.focus();
    }

    function onMessage(event) {
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      var m = event.data;
      if (!m || m.source !== "tpay-checkout") return;
      if (m.height) frame.style.height = m.height + "px";
      if (m.type !== "status") return;
      if (options.onStatus) options.onStatus(m);
      if (m.final) {
        if (options.onFinish) options.onFinish(m);
        if (options.returnOnFinish && m.return_url) window.location.href = m.return_url;
      }
    }
    window.addEventListener("message", onMessage);

    var handle = {
      frame: frame,
      close: function () {
        window.removeEventListener("message", onMessage);
        (overlay || frame).remove();
      }
    };
    return handle;
  }

  window.TPayCheckout = { open: open };
})();
