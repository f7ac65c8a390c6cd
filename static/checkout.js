// The few things htmx cannot do: tick the server's countdown, return to the shop, and, in a
// merchant's frame, tell the parent page (its origin only) the status and our height.
(function () {
  "use strict";

  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // Milestones a screen reader hears (inside the polite live region), not every second.
  var MILESTONES = [600, 300, 120, 60];
  function announce(el, left) {
    var box = el.closest("#status") && el.closest("#status").querySelector("[data-countdown-announce]");
    if (!box) return;
    MILESTONES.forEach(function (m) {
      if (left <= m && left > m - 2 && box.dataset.said !== String(m)) {
        box.dataset.said = String(m);
        box.textContent = box.dataset.template.replace("{n}", String(m / 60));
      }
    });
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
        announce(el, left);
        if (left <= 60) el.classList.add("soon");
        if (left > 0) setTimeout(tick, 1000 - ((end - performance.now()) % 1000));
      }
      tick();
    });
  }

  var framed = window.parent !== window;

  // The parent's origin, if it is one of the merchant's embed origins ("http://host:*" allows
  // any port); "" otherwise. Browsers without ancestorOrigins get each exact allowed origin:
  // postMessage delivers only to the one that matches.
  function parentOrigins() {
    var order = document.querySelector("[data-embed-origins]");
    var allowed = order ? order.dataset.embedOrigins.split(" ").filter(Boolean) : [];
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) {
      var parent = ancestors[0];
      return allowed.some(function (pattern) {
        return pattern === parent || (pattern.slice(-2) === ":*" &&
          parent.indexOf(pattern.slice(0, -1)) === 0 && /^\d+$/.test(parent.slice(pattern.length - 1)));
      }) ? [parent] : [];
    }
    return allowed.filter(function (o) { return o.slice(-2) !== ":*"; });
  }

  function tellParent(type) {
    if (!framed) return;
    var status = document.getElementById("status");
    if (!status) return;
    var message = {
      source: "tpay-checkout", type: type,
      payment_id: status.dataset.paymentId, status: status.dataset.status,
      state: status.dataset.state, final: status.dataset.final === "true",
      return_url: status.dataset.returnUrl,
      height: Math.ceil(document.documentElement.getBoundingClientRect().height)
    };
    parentOrigins().forEach(function (origin) { window.parent.postMessage(message, origin); });
  }

  function scheduleReturn(root) {
    root.querySelectorAll("a[data-return-after]").forEach(function (a) {
      if (a.dataset.scheduled) return;
      a.dataset.scheduled = "1";
      if (framed) return;  // the parent page decides; the button still leaves the frame
      setTimeout(function () {
        if (a.isConnected) window.location.href = a.href;
      }, Number(a.dataset.returnAfter) * 1000);
    });
  }

  // iPadOS Safari says it is a Mac. A "Mac" with a touch screen is an iPad: it can run the
  // T-Bank app, so it is told the server so when it starts paying, and offered the app link.
  var touchMac = /Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 0;
  document.addEventListener("htmx:configRequest", function (e) {
    if (touchMac && e.detail.verb === "post") e.detail.parameters.device = "touch-mac";
  });

  function offerApp(root) {
    if (!touchMac) return;
    document.documentElement.dataset.platform = "mobile";
    root.querySelectorAll("[data-touch-mac-offer]").forEach(function (el) {
      el.hidden = false;
      var device = el.querySelector("input[name=device]");
      if (device) device.value = "touch-mac";
    });
  }

  // "App didn't open?": if the page is still in front 1.5 s after a tap on the app link, the
  // ways out (open in the browser, copy the link) appear.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-action=open-app]");
    if (link) {
      setTimeout(function () {
        if (document.hidden) return;
        document.querySelectorAll("[data-app-fallback]").forEach(function (el) {
          el.hidden = false;
        });
      }, 1500);
    }
    var enlarge = e.target.closest && e.target.closest("[data-action=enlarge-qr]");
    if (enlarge) toggleQr(enlarge);
    var copy = e.target.closest && e.target.closest("[data-action=copy-link]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.dataset.copy).then(function () {
        copy.textContent = copy.dataset.copiedText;
      });
    }
  });

  // The QR full screen (a tap or Escape closes it), and the screen kept awake while a QR is
  // shown: the buyer is busy with the other phone.
  function toggleQr(button) {
    var qr = document.querySelector(".qr");
    if (!qr) return;
    var on = !qr.classList.contains("qr-full");
    qr.classList.toggle("qr-full", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
  document.addEventListener("keydown", function (e) {
    var full = document.querySelector(".qr-full");
    if (e.key === "Escape" && full) full.classList.remove("qr-full");
  });
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest(".qr-full")) {
      e.target.closest(".qr-full").classList.remove("qr-full");
    }
  }, true);

  var wakeLock = null;
  // In a frame only where the parent allows it (embed.js does): asking otherwise is an error.
  var mayLock = !!navigator.wakeLock && (!framed || !!(document.featurePolicy &&
    document.featurePolicy.allowsFeature("screen-wake-lock")));
  function keepAwake() {
    if (!mayLock) return;
    var wanted = !!document.querySelector(".qr svg") && !document.hidden;
    if (wanted && !wakeLock && navigator.wakeLock) {
      navigator.wakeLock.request("screen").then(function (lock) {
        wakeLock = lock;
        lock.addEventListener("release", function () { wakeLock = null; });
      }, function () { /* refused (battery saver, policy): the page works the same */ });
    } else if (!wanted && wakeLock) {
      wakeLock.release();
    }
  }
  document.addEventListener("visibilitychange", keepAwake);

  function init(root) {
    keepAwake();
    offerApp(root);
    startCountdowns(root);
    scheduleReturn(root);
    tellParent("status");
  }

  // Polling: every poll_seconds (2 s) at first; with no news for 15 intervals (30 s), every
  // 2.5 intervals (5 s); after 60 intervals (2 min), every 5 (10 s). At once, and fast again,
  // when the buyer returns to the tab (e.g. from the T-Bank app) or the network comes back;
  // never while the tab is hidden. The server answers "unchanged" for almost nothing.
  // A server past capacity asks for longer waits (X-Poll-Seconds on its "unchanged" answer);
  // the page keeps to that until an answer comes without it.
  var quietSince = performance.now(), lastUrl = "", pollTimer = 0, serverSeconds = 0;

  function pollDelay(base) {
    base = Math.max(base, serverSeconds);
    var quiet = (performance.now() - quietSince) / 1000 / base;
    return 1000 * base * (quiet < 15 ? 1 : quiet < 60 ? 2.5 : 5);
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (!xhr || !e.detail.elt || e.detail.elt.id !== "status") return;
    serverSeconds = Number(xhr.getResponseHeader("X-Poll-Seconds")) || 0;
  });

  function poll() {
    clearTimeout(pollTimer);
    var status = document.getElementById("status");
    if (!status || !status.getAttribute("hx-get")) return;  // final: nothing more to ask
    var url = status.getAttribute("hx-get");
    if (url !== lastUrl) { lastUrl = url; quietSince = performance.now(); }  // news arrived
    if (!document.hidden && window.htmx) window.htmx.trigger(status, "poll");
    pollTimer = setTimeout(poll, pollDelay(Number(status.dataset.pollSeconds) || 2));
  }

  var hiddenAt = 0;
  function wakeUp() {
    if (document.hidden) { hiddenAt = Date.now(); return; }
    quietSince = performance.now();
    var status = document.getElementById("status");
    var url = status && status.getAttribute("hx-get");
    if (url && hiddenAt && Date.now() - hiddenAt > 5000 && window.htmx) {
      // Back after a while (the device may have slept, freezing our clocks): ask for the page
      // as it stands, countdown included, whether or not anything changed.
      hiddenAt = 0;
      window.htmx.ajax("GET", url.replace(/([?&])v=\d+/, "$1v=0"),
                       {target: "#status", swap: "outerHTML"});
      return;
    }
    poll();
  }
  document.addEventListener("visibilitychange", wakeUp);
  window.addEventListener("focus", wakeUp);
  window.addEventListener("pageshow", function (e) { if (e.persisted) wakeUp(); });
  window.addEventListener("online", wakeUp);
  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("status");
    if (status) pollTimer = setTimeout(poll, pollDelay(Number(status.dataset.pollSeconds) || 2));
  });

  if (framed && window.ResizeObserver) {
    var lastHeight = 0;
    new ResizeObserver(function () {
      var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (h !== lastHeight) { lastHeight = h; tellParent("resize"); }
    }).observe(document.documentElement);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
