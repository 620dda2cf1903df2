// A status change that arrives with a refreshed list is announced too. A badge announces what it
// sees itself (answers.badge), but a refresh can overtake it: the badge saw "publishing", asked
// the lists to refresh, and the refreshed row is already "published" — a badge that no longer
// polls. So, around every swap of the dashboard or the post page, the rows' statuses before and
// after are compared, and each row that changed says so in the live region, in the server's words
// (data-status-sentence). Rows that appear or vanish are not announced (the action that made them
// already was).
(function () {
  "use strict";
  var WIDGETS = "#dashboard, #post-page";
  var before = null; // {id: the swapped widget's id, rows: {row id: status}}

  function statuses(root) {
    var seen = {};
    root.querySelectorAll("article.post[data-status]").forEach(function (row) {
      seen[row.id] = row.dataset.status;
    });
    return seen;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    before = target && target.matches && target.matches(WIDGETS) ? { id: target.id, rows: statuses(target) } : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!before) return;
    var root = document.getElementById(before.id);
    var was = before.rows;
    before = null;
    if (!root) return;
    var news = [];
    root.querySelectorAll("article.post[data-status]").forEach(function (row) {
      if (was[row.id] && was[row.id] !== row.dataset.status && row.dataset.statusSentence) {
        news.push(row.dataset.statusSentence);
      }
    });
    var announcer = document.getElementById("announcer");
    if (news.length && announcer) announcer.textContent = news.join(" ");
  });
})();
