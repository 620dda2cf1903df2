// Punctual's own script: small enhancements on top of htmx. Every page works without it.
(function () {
  "use strict";

  // ------------------------------------------------------------ the live character counter
  // Counts like the server does (webapp/validation.py): line breaks as one, ends trimmed,
  // characters as code points. Over the limit, the counter turns red and the buttons are
  // disabled; the server refuses too, with the same sentence, if JavaScript is off.
  function countOf(textarea) {
    return Array.from(textarea.value.replace(/\r\n/g, "\n").trim()).length;
  }

  function updateCounter(textarea) {
    var counter = document.querySelector('[data-counter-for="' + textarea.id + '"]');
    if (!counter) return;
    var limit = parseInt(textarea.dataset.limit, 10);
    var n = countOf(textarea);
    var over = n > limit;
    counter.querySelector(".counter-value").textContent = n.toLocaleString("en-US");
    counter.classList.toggle("over", over);
    var extra = counter.querySelector(".counter-over");
    if (!extra) {
      extra = document.createElement("strong");
      extra.className = "counter-over";
      counter.appendChild(extra);
    }
    extra.textContent = over ? " — " + (n - limit).toLocaleString("en-US") + " over LinkedIn's limit" : "";
    if (over) {
      textarea.setAttribute("aria-invalid", "true");
      textarea.dataset.overLimit = "true";
    } else if (textarea.dataset.overLimit) {  // only undo what the counter itself set
      textarea.removeAttribute("aria-invalid");
      delete textarea.dataset.overLimit;
    }
    var form = textarea.form;
    if (form) {
      form.querySelectorAll('button[name="intent"]').forEach(function (button) { button.disabled = over; });
    }
  }

  function initCounters(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("textarea[data-limit]").forEach(updateCounter);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-limit]")) updateCounter(event.target);
  });

  // ------------------------------------------------------------ relative times, kept current
  // "in 2 h 5 min" is rendered by the server (webapp/timeutil.py: relative) and recomputed here
  // every 15 s with the same rules, against the server's clock — without a single request.
  var skew = 0; // the server's clock minus this browser's, from the last page or fragment

  function syncClock(root) {
    var el = root.matches && root.matches("[data-server-now]") ? root
      : (root.querySelector ? root.querySelector("[data-server-now]") : null);
    if (el) skew = Date.parse(el.dataset.serverNow) - Date.now();
  }

  function relative(deltaMs) {
    var future = deltaMs >= 0;
    var seconds = Math.abs(deltaMs) / 1000;
    if (seconds < 45) {
      if (seconds < 1) return "now";
      return future ? "in a few seconds" : "a few seconds ago";
    }
    var minutes = Math.round(seconds / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var text;
    if (days) text = hours ? days + " d " + hours + " h" : days + " d";
    else if (hours) text = mins ? hours + " h " + mins + " min" : hours + " h";
    else text = mins + " min";
    return future ? "in " + text : text + " ago";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      if (el.hasAttribute("data-counting")) return; // countdown.js has it, to the second
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = relative(at - now);
    });
  }

  // ------------------------------------------------------------ the live region
  // Announcements are read out by screen readers and shown briefly; then the toast goes away.
  var announcer = document.getElementById("announcer");
  var clearTimer = null;

  function say(message) {
    if (!announcer) return;
    announcer.textContent = message;
  }

  if (announcer && window.MutationObserver) {
    new MutationObserver(function () {
      if (!announcer.textContent.trim()) return;
      clearTimeout(clearTimer);
      clearTimer = setTimeout(function () { announcer.textContent = ""; }, 8000);
    }).observe(announcer, { childList: true, characterData: true, subtree: true });
  }

  // htmx does not swap a 5xx answer, and a lost connection answers nothing: say so, instead of
  // a button that seems to do nothing. (A failed poll is simply tried again.)
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 500 && event.detail.requestConfig && event.detail.requestConfig.verb !== "get") {
      say("Something went wrong on our side. Reload the page to see where things stand, then try again.");
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.requestConfig && event.detail.requestConfig.verb !== "get") {
      say("Punctual could not be reached. Check your connection and try again.");
    }
  });

  // While a row's inline form or confirmation is open ([data-hold]), the lists ([data-held-off])
  // do not refresh on posts-changed (see _dashboard.html), so a badge elsewhere cannot wipe it.
  // (Not a trigger filter, posts-changed[...]: htmx would need eval, which the CSP forbids.)
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (elt.matches && elt.matches("[data-held-off]") && document.querySelector("[data-hold]")) {
      event.preventDefault();
    }
  });
  // The held form's own request lets go first: the answer's posts-changed must refresh the lists.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var held = event.detail.elt.closest && event.detail.elt.closest("[data-hold]");
    if (held) held.removeAttribute("data-hold");
  });

  // A flashed message is about the page load it came with ("Scheduled for 09:00, in a few
  // seconds"); once posts change in place it would contradict what is shown, so it goes (the
  // live region speaks from then on): after the user's own change, or a badge's posts-changed.
  function dropFlashes() {
    document.querySelectorAll(".flashes").forEach(function (el) { el.remove(); });
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.verb !== "get") dropFlashes();
  });
  document.addEventListener("posts-changed", dropFlashes);

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt || document;
    syncClock(root);
    initCounters(root);
    tick();
  });

  // ------------------------------------------------------------ registration: the browser's zone
  // The account's time zone starts as this browser's (the server falls back to UTC without it).
  var zoneInput = document.querySelector("input[data-browser-zone]");
  if (zoneInput) {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && !zoneInput.value) zoneInput.value = zone;
      var shown = document.getElementById("tz-shown");
      if (zoneInput.value && shown) shown.textContent = zoneInput.value;
    } catch (e) { /* the server falls back to UTC */ }
  }

  syncClock(document);
  initCounters(document);
  tick();
  setInterval(tick, 15000);
})();
