// Browser notifications for agents who asked for them (account page), and the account page's
// permission controls. The notices come with the queue navigation's counts, which every agent
// page polls anyway (data-notices on #queue_counts); this file only shows them.
(function () {
  "use strict";

  var SHOWN_KEY = "helpdesk.notices.shown"; // event ids any tab of this browser has shown
  var SHOWN_MAX = 200;
  var since = null;   // the newest event when this page was loaded: nothing older is shown
  var shownHere = {}; // also kept here, for browsers that refuse localStorage

  function $(selector, root) { return (root || document).querySelector(selector); }

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
      if (notice.url) { window.location.assign(notice.url); }
    };
  }

  // Two tabs polling at the same moment both find an event not yet in the shown list (each tab
  // reads its own copy of localStorage), so each event is also claimed with a Web Lock, which the
  // browser grants to one tab only; it is held a minute, while the other tabs' copies catch up.
  var HOLD_MS = 60000;

  function claim(notice) {
    return new Promise(function (decided) {
      if (!(navigator.locks && navigator.locks.request)) { decided(true); return; }
      navigator.locks.request("helpdesk-notice-" + notice.id, { ifAvailable: true }, function (lock) {
        decided(Boolean(lock));
        if (!lock) { return null; }
        return new Promise(function (release) { window.setTimeout(release, HOLD_MS); });
      }).catch(function () { decided(true); });
    });
  }

  function readNotices(nav) {
    if (!nav || nav.noticesTaken || !nav.hasAttribute("data-notices")) { return; }
    nav.noticesTaken = true;
    // noticesRead: this poll's notices are all dealt with (shown here, or by another tab).
    function done() { nav.noticesRead = true; }
    if (since === null) { since = Number(nav.getAttribute("data-notices-since")) || 0; }
    if (!supported() || window.Notification.permission !== "granted") { return done(); }
    var notices;
    try { notices = JSON.parse(nav.getAttribute("data-notices")); } catch (e) { return done(); }
    var before = shownInBrowser();
    var fresh = notices.filter(function (n) {
      return n.id > since && !shownHere[n.id] && before.indexOf(n.id) < 0;
    });
    if (!fresh.length) { return done(); }
    rememberShown(fresh.map(function (n) { return n.id; }));
    Promise.all(fresh.map(function (notice) {
      return claim(notice).then(function (mine) {
        // The agent is looking at that very ticket, which refreshes itself: nothing to tell.
        if (!mine || (document.hasFocus() && window.location.pathname === notice.url)) { return; }
        show(notice);
      });
    })).then(done, done);
  }

  // --- the account page: this browser's permission -----------------------------------------

  // Each state: the badge, its colour, and what to do.
  var STATES = {
    granted: ["Allowed", "status-open",
      "Notifications appear while a page of the agent panel is open in this browser."],
    "default": ["Not allowed yet", "status-closed",
      "Choose the button below, then Allow when the browser asks."],
    denied: ["Blocked", "status-pending",
      "This browser blocks notifications from this desk. To allow them, open the site settings (the icon " +
      "at the left of the address bar), set Notifications to Allow, and reload this page."],
    insecure: ["Unavailable", "status-pending",
      "Browsers show notifications only for pages served over HTTPS: ask your administrator."],
    unsupported: ["Unavailable", "status-pending", "This browser cannot show notifications."]
  };

  function permissionState() {
    if (!supported()) { return "unsupported"; }
    if (window.isSecureContext === false) { return "insecure"; }
    return STATES[window.Notification.permission] ? window.Notification.permission : "default";
  }

  function showPermission() {
    var line = document.getElementById("notify-permission");
    if (!line) { return; }
    var state = permissionState(), words = STATES[state];
    var badge = $(".badge", line);
    badge.textContent = words[0];
    badge.className = "badge " + words[1];
    badge.hidden = false;
    $(".notify-permission-text", line).textContent = words[2];
    line.setAttribute("data-state", state);
    document.getElementById("notify-allow").hidden = state !== "default";
    document.getElementById("notify-test").hidden = state !== "granted";
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target || !supported()) { return; }
    if (target.closest("#notify-allow")) {
      var asked = window.Notification.requestPermission(showPermission);
      if (asked && asked.then) { asked.then(showPermission); }
    } else if (target.closest("#notify-test")) {
      show({ id: "test", title: "Notifications work",
             body: "This is how the desk tells you what happened to your tickets." });
    }
  });

  function watchPermission() {
    // A change made in the browser's site settings shows here without a reload.
    if (!navigator.permissions || !navigator.permissions.query || !document.getElementById("notify-permission")) { return; }
    navigator.permissions.query({ name: "notifications" }).then(function (status) {
      status.onchange = showPermission;
    }, function () { /* not queryable here: the page shows the state it was loaded with */ });
  }

  document.addEventListener("htmx:afterSettle", function () {
    readNotices(document.getElementById("queue_counts"));
  });

  function start() {
    readNotices(document.getElementById("queue_counts"));
    showPermission();
    watchPermission();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
