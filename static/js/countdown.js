// A post due within the next minutes counts down to the second ("in 0:37"), from its row's
// <time datetime> and the server's clock (data-server-now), without a single request: the status
// badge's own polling (webapp/posts/live.py) is what notices it was sent. Further out, app.js keeps
// the coarser "in 2 h 5 min".
(function () {
  "use strict";
  var WINDOW_MS = 10 * 60 * 1000; // count down the last ten minutes
  var skew = 0; // the server's clock minus this browser's

  // Only from a page or fragment that just arrived: an older stamp, read again later, would
  // make the server's clock seem to stand still.
  function syncClock(root) {
    var el = root.matches && root.matches("[data-server-now]") ? root
      : (root.querySelector ? root.querySelector("[data-server-now]") : null);
    if (el) {
      var server = Date.parse(el.dataset.serverNow);
      if (!isNaN(server)) skew = server - Date.now();
    }
  }

  function format(ms) {
    var seconds = Math.ceil(ms / 1000);
    var minutes = Math.floor(seconds / 60);
    seconds %= 60;
    return "in " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("datetime")) - now;
      if (isNaN(left)) return;
      if (left > 0 && left <= WINDOW_MS) {
        var text = format(left);
        if (el.textContent !== text) el.textContent = text;
        if (!el.hasAttribute("data-counting")) {
          el.setAttribute("data-counting", "");
          el.classList.add("counting");
        }
      } else if (el.hasAttribute("data-counting")) { // its second has come: app.js takes over again
        el.removeAttribute("data-counting");
        el.classList.remove("counting");
        el.textContent = "now";
      }
    });
  }

  // Each tick lands just after a whole second of the server's clock, so no second is skipped.
  function loop() {
    tick();
    setTimeout(loop, 1000 - ((Date.now() + skew) % 1000) + 15);
  }

  document.addEventListener("htmx:afterSettle", function (event) { syncClock(event.detail.elt || document); tick(); });
  syncClock(document);
  loop();
})();
