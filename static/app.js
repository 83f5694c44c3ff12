// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // After an htmx swap, move focus to a swapped element that asks for it (data-autofocus),
  // so keyboard and screen-reader users land on the result of their action.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt;
    var focus = target && target.querySelector ? target.querySelector("[data-autofocus]") : null;
    if (focus) { focus.focus(); }
  });
})();
