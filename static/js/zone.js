// The time zone picker (Settings): a text input over a <datalist> of every zone with its offset,
// which works as is without JavaScript (the server maps what was typed: an old name, a city, any
// case). This says, as you type, what will be saved: "US/Eastern → America/New_York — UTC-05:00".
(function () {
  "use strict";

  function setup(input) {
    var aliases = {};
    try { aliases = JSON.parse(input.dataset.zoneAliases || "{}"); } catch (e) { /* none */ }
    var labels = {};
    var list = input.list;
    if (list) {
      Array.prototype.forEach.call(list.options, function (option) {
        labels[option.value.toLowerCase()] = { name: option.value, label: option.textContent.trim() };
        var city = option.value.split("/").pop().toLowerCase();
        labels["city:" + city] = labels["city:" + city] ? null : labels[option.value.toLowerCase()];
      });
    }
    var lowerAliases = {};
    Object.keys(aliases).forEach(function (k) { lowerAliases[k.toLowerCase()] = aliases[k]; });

    var out = document.createElement("p");
    out.className = "zone-resolved";
    out.id = "zone-resolved";
    out.setAttribute("aria-live", "polite");
    input.closest(".field").appendChild(out);
    input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "") + " zone-resolved");

    function resolve() {
      var text = input.value.split(" — ")[0].trim().replace(/ /g, "_").toLowerCase();
      if (!text) return "";
      var hit = labels[text];
      if (hit) return "Saves " + hit.label;
      if (lowerAliases[text]) {
        var to = labels[lowerAliases[text].toLowerCase()];
        return input.value.trim() + " is an old name: saves " + (to ? to.label : lowerAliases[text]);
      }
      var city = labels["city:" + text];
      if (city) return "Saves " + city.label;
      return "No zone called “" + input.value.trim() + "” yet: keep typing, or pick one from the list.";
    }

    function show() { out.textContent = resolve(); }
    input.addEventListener("input", show);
    // Clicking into the field selects its text, so typing starts a new search (a datalist only
    // suggests what matches the text already there).
    input.addEventListener("focus", function () { input.select(); });
    show();
  }

  document.querySelectorAll("input[data-zone-picker]").forEach(setup);
})();
