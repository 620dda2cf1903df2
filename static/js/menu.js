// The rows' "More" menus are <details> disclosures: they open and close without JavaScript (click,
// Enter, Space). This adds what people expect of a menu: one open at a time, Escape closes it (focus
// back on "More"), a click elsewhere closes it.
(function () {
  "use strict";

  function openMenus() { return document.querySelectorAll("details[data-menu][open]"); }

  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
    openMenus().forEach(function (other) { if (other !== menu) other.open = false; });
  }, true);

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.open = false;
      if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
    });
  });
})();
