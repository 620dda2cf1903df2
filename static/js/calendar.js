// The calendar's drag and drop (templates/calendar/_calendar.html). A post dropped on another day
// keeps its time of day; in the week view, dropped on another hour, it keeps its minutes. The move
// goes to the same action as the Reschedule form (POST /calendar/move); while it is on its way the
// post sits where it was dropped. Refused (a time in the past, a LinkedIn token that expires
// first, a time the clocks skip), it snaps back and the reason appears in #calendar-notice; done,
// the notice offers an Undo and the calendar redraws itself (posts-changed). No polling.
(function () {
  "use strict";

  var dragged = null; // {el, parent, next}

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function dropTarget(el) {
    return el && el.closest ? el.closest("#calendar [data-date].cal-day, #calendar [data-date].cal-slot") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var el = event.target.closest ? event.target.closest("#calendar [data-post-id][draggable=true]") : null;
    if (!el) return;
    dragged = { el: el, parent: el.parentNode, next: el.nextSibling };
    el.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", el.dataset.postId);
  });

  document.addEventListener("dragend", function () {
    document.querySelectorAll(".is-dragging").forEach(function (el) { el.classList.remove("is-dragging"); });
    document.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var target = dropTarget(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".is-drop-target").forEach(function (el) {
      if (el !== target) el.classList.remove("is-drop-target");
    });
    target.classList.add("is-drop-target");
  });

  document.addEventListener("drop", function (event) {
    var target = dropTarget(event.target);
    if (!dragged || !target) return;
    event.preventDefault();
    target.classList.remove("is-drop-target");
    var move = dragged;
    dragged = null;
    var el = move.el;
    var time = el.dataset.time; // HH:MM:SS, the time of day the post keeps
    if (target.dataset.hour !== undefined) {
      time = ("0" + target.dataset.hour).slice(-2) + time.slice(2);
    }
    var from = el.closest("[data-date]");
    if (from && from.dataset.date === target.dataset.date && (from.dataset.hour || "") === (target.dataset.hour || "")) {
      return; // dropped where it was
    }
    // Sit where it was dropped while the server decides.
    var list = target.querySelector(".cal-items");
    if (!list) {
      list = document.createElement("ul");
      list.className = "cal-items";
      target.appendChild(list);
    }
    list.appendChild(el);
    el.classList.add("is-moving");
    send(el, move, { post_id: el.dataset.postId, date: target.dataset.date, time: time });
  });

  function send(el, move, values) {
    var calendar = document.getElementById("calendar");
    var body = new URLSearchParams(values);
    body.set("view", calendar.dataset.view);
    body.set("anchor", calendar.dataset.anchor);
    fetch(calendar.dataset.moveUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), "X-Punctual-Calendar": "1",
                 "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, status: response.status, text: text }; });
    }).then(function (answer) {
      var notice = document.getElementById("calendar-notice");
      notice.innerHTML = answer.status < 500 ? answer.text : "";
      if (answer.status >= 500 || !answer.text) {
        notice.textContent = "Something went wrong; the post was not moved.";
      }
      if (window.htmx) window.htmx.process(notice);
      if (answer.ok) {
        document.body.dispatchEvent(new CustomEvent("posts-changed"));
      } else {
        snapBack(el, move);
      }
    }).catch(function () {
      snapBack(el, move);
      document.getElementById("calendar-notice").textContent = "The server could not be reached; the post was not moved.";
    });
  }

  function snapBack(el, move) {
    el.classList.remove("is-moving");
    move.parent.insertBefore(el, move.next && move.next.parentNode === move.parent ? move.next : null);
    el.classList.add("snapped-back");
    window.setTimeout(function () { el.classList.remove("snapped-back"); }, 1500);
  }
})();
