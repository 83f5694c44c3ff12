// Browser notifications for agents who asked for them (account page), and the account page's
// permission controls. The notices come with the queue navigation's counts, which every agent
// page polls anyway (data-notices on #queue_counts); this file only shows them.
(function () {
  "use strict";

  var SHOWN_KEY = "helpdesk.notices.shown"; // event ids any tab of this browser has shown
  var SHOWN_MAX = 200;
  var since = null;   // the newest event when this page was loaded: nothing older is shown
  var shownHere = {}; // also kept here, for browsers that refuse localStorage

  function supported() { return typeof window.Notification === "function"; }

  function shownInBrowser() {
    try {
      var ids = JSON.parse(window.localStorage.getItem(SHOWN_KEY) || "[]");
      return Array.isArray(ids) ? ids : [];
    } catch (e) { return []; }
  }

  function rememberShown(ids) {
    ids.forEach(function (id) { shownHere[id] = true; });
    try {
      var all = shownInBrowser().concat(ids);
      window.localStorage.setItem(SHOWN_KEY, JSON.stringify(all.slice(-SHOWN_MAX)));
    } catch (e) { /* private mode: this tab still remembers */ }
  }

  function show(notice) {
    // The tag is the event: another tab of this agent showing it too replaces, not repeats, it.
    var shown = new window.Notification(notice.title, { body: notice.body, tag: "helpdesk-event-" + notice.id });
    shown.onclick = function (event) {
      if (event && event.preventDefault) { event.preventDefault(); }
      window.focus();
      shown.close();
      window.location.assign(notice.url);
    };
  }

  function readNotices(nav) {
    if (!nav || nav.noticesRead || !nav.hasAttribute("data-notices")) { return; }
    nav.noticesRead = true;
    if (since === null) { since = Number(nav.getAttribute("data-notices-since")) || 0; }
    if (!supported() || window.Notification.permission !== "granted") { return; }
    var notices;
    try { notices = JSON.parse(nav.getAttribute("data-notices")); } catch (e) { return; }
    var before = shownInBrowser();
    var fresh = notices.filter(function (n) {
      return n.id > since && !shownHere[n.id] && before.indexOf(n.id) < 0;
    });
    if (!fresh.length) { return; }
    rememberShown(fresh.map(function (n) { return n.id; }));
    fresh.forEach(show);
  }

  // --- the account page: this browser's permission -----------------------------------------

  var STATES = {
    unsupported: "This browser cannot show notifications.",
    insecure: "Browsers show notifications only for pages served over HTTPS; ask your administrator.",
    granted: "Allowed in this browser. Notifications appear while a page of the agent panel is open here.",
    "default": "Not allowed yet in this browser. Choose the button, then Allow when the browser asks.",
    denied: "Blocked in this browser. To allow them, open the site settings (the icon at the left of the " +
      "address bar), set Notifications to Allow, and reload this page."
  };

  function permissionState() {
    if (!supported()) { return "unsupported"; }
    if (window.isSecureContext === false) { return "insecure"; }
    return window.Notification.permission;
  }

  function showPermission() {
    var text = document.getElementById("notify-permission");
    var button = document.getElementById("notify-allow");
    if (!text || !button) { return; }
    var state = permissionState();
    text.textContent = STATES[state] || STATES["default"];
    text.setAttribute("data-state", state);
    button.hidden = false;
    button.disabled = state !== "default";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#notify-allow");
    if (!button || !supported()) { return; }
    var asked = window.Notification.requestPermission(showPermission);
    if (asked && asked.then) { asked.then(showPermission); }
  });

  document.addEventListener("htmx:afterSettle", function () {
    readNotices(document.getElementById("queue_counts"));
  });

  function start() {
    readNotices(document.getElementById("queue_counts"));
    showPermission();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
