// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function announce(text) {
    var status = document.getElementById("live-status");
    if (status && text) { status.textContent = text; }
  }

  function isTyping(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // --- live lists: mark rows and thread entries that were not there before ------------------

  // What each live list showed last: {region id: {key: ..., ids: {id: text}}}.
  var shown = {};

  function snapshotLists() {
    var now = {};
    $$("[data-live-list]").forEach(function (list) {
      var region = list.closest("[id]");
      if (!region) { return; }
      var ids = {};
      Array.prototype.forEach.call(list.children, function (item) {
        if (item.id) { ids[item.id] = item; }
      });
      now[region.id] = { key: region.getAttribute("data-live-key") || region.id, ids: ids, list: list };
    });
    return now;
  }

  function markNewItems() {
    var now = snapshotLists();
    Object.keys(now).forEach(function (regionId) {
      var before = shown[regionId], after = now[regionId];
      if (!before || before.key !== after.key) { return; }
      var added = [], removed = [];
      Object.keys(after.ids).forEach(function (id) {
        if (!before.ids[id]) {
          added.push(after.ids[id]);
          after.ids[id].classList.add("is-new");
        }
      });
      Object.keys(before.ids).forEach(function (id) { if (!after.ids[id]) { removed.push(id); } });
      if (regionId === "results" && (added.length || removed.length)) {
        var parts = [];
        if (added.length) {
          parts.push(added.length === 1 ? "New in this queue: #" + added[0].getAttribute("data-number")
            : added.length + " new tickets in this queue");
        }
        if (removed.length) {
          parts.push(removed.length === 1 ? "#" + removed[0].replace(/^row-/, "") + " left this queue"
            : removed.length + " tickets left this queue");
        }
        announce(parts.join(". ") + ".");
      }
    });
    var stored = {};
    Object.keys(now).forEach(function (regionId) {
      var ids = {};
      Object.keys(now[regionId].ids).forEach(function (id) { ids[id] = true; });
      stored[regionId] = { key: now[regionId].key, ids: ids };
    });
    shown = stored;
  }

  document.addEventListener("animationend", function (event) {
    if (event.target.classList && event.target.classList.contains("is-new")) {
      event.target.classList.remove("is-new");
    }
  });

  // --- queue: selection for bulk actions, kept across live refreshes -----------------------

  var picked = {};      // ticket numbers ticked
  var currentRow = null; // ticket number of the row j/k chose

  function rows() { return $$("#results tbody tr[data-number]"); }

  function rememberPicks() {
    $$("#results input[name=ticket]").forEach(function (box) {
      var number = box.closest("tr").getAttribute("data-number");
      if (box.checked) { picked[number] = true; } else { delete picked[number]; }
    });
  }

  function restorePicks() {
    var boxes = $$("#results input[name=ticket]");
    var present = {};
    boxes.forEach(function (box) {
      var number = box.closest("tr").getAttribute("data-number");
      present[number] = true;
      box.checked = !!picked[number];
    });
    Object.keys(picked).forEach(function (number) { if (!present[number]) { delete picked[number]; } });
    updateSelectedCount();
  }

  function updateSelectedCount() {
    var label = document.getElementById("bulk-selected");
    if (!label) { return; }
    var boxes = $$("#results input[name=ticket]");
    var count = boxes.filter(function (b) { return b.checked; }).length;
    label.textContent = count ? count + (count === 1 ? " ticket selected." : " tickets selected.")
      : "Tick tickets below to change several at once.";
    var all = document.getElementById("pick-all");
    if (all) {
      all.checked = count > 0 && count === boxes.length;
      all.indeterminate = count > 0 && count < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-pick-all]")) {
      $$("#results input[name=ticket]").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.closest && target.closest("#results")) {
      rememberPicks();
      updateSelectedCount();
    }
  });

  function markCurrentRow() {
    rows().forEach(function (row) {
      row.classList.toggle("kb-current", row.getAttribute("data-number") === currentRow);
    });
  }

  function moveRow(step) {
    var list = rows();
    if (!list.length) { return; }
    var index = -1;
    list.forEach(function (row, i) { if (row.getAttribute("data-number") === currentRow) { index = i; } });
    index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    currentRow = list[index].getAttribute("data-number");
    markCurrentRow();
    var link = $("td.subject a", list[index]);
    if (link) { link.focus(); }
    list[index].scrollIntoView({ block: "nearest" });
  }

  // --- the ticket page: presence (viewing or typing) -----------------------------------------

  function composing() {
    return $$("#ticket .composer textarea, #ticket .ticket-actions textarea").some(function (area) {
      return area.value.trim() !== "";
    });
  }

  function updatePresenceState() {
    var state = document.getElementById("presence-state");
    if (!state) { return; }
    var next = composing() ? "typing" : "viewing";
    if (state.value !== next) {
      state.value = next;
      if (window.htmx) { window.htmx.trigger(document.body, "presence-changed"); }
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA" && event.target.closest("#ticket")) { updatePresenceState(); }
  });

  window.addEventListener("pagehide", function () {
    var box = document.getElementById("presence");
    if (!box || !navigator.sendBeacon) { return; }
    var data = new FormData();
    try {
      data.append("csrf_token", JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]);
    } catch (e) { return; }
    data.append("leave", "1");
    navigator.sendBeacon(box.getAttribute("data-leave-url"), data);
  });

  // --- after htmx swaps: restore what a background refresh must not take away, and move focus
  // where a person's own action leads ----------------------------------------------------------

  function fromLiveRegion(detail) {
    var elt = detail && detail.requestConfig && detail.requestConfig.elt;
    return !!(elt && elt.hasAttribute && elt.hasAttribute("data-live"));
  }

  // A poll's answer can arrive after the answer to the agent's own action, which is newer:
  // never let it put back an older state (regions carry the version they show: a number, or
  // numbers joined by dots, compared part by part).
  function versionParts(value) {
    return /^\d+(\.\d+)*$/.test(value || "") ? value.split(".").map(Number) : null;
  }

  function older(current, incoming) {
    var now = versionParts(current && current.getAttribute("data-version"));
    var next = versionParts(incoming);
    if (!now || !next || now.length !== next.length) { return false; }
    for (var i = 0; i < now.length; i++) {
      if (next[i] !== now[i]) { return next[i] < now[i]; }
    }
    return false;
  }

  // --- the ticket page: forms being written in outlive every refresh --------------------------

  // A form the agent is using: text in it, a choice changed, the focus in it, or opened by them.
  function inUse(box) {
    var active = document.activeElement;
    if (active && active !== document.body && box.contains(active) && active.tagName !== "SUMMARY") { return true; }
    if (box.tagName === "DETAILS" && box.open && !box.hasAttribute("data-default-open")) { return true; }
    return $$("textarea, input, select", box).some(function (field) {
      if (field.type === "hidden" || field.type === "submit") { return false; }
      if (field.type === "file") { return !!(field.files && field.files.length); }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return field.value.trim() !== "";
    });
  }

  function formsInUse(region, except) {
    return $$(".action[id$='_form']", region).filter(function (box) { return box !== except && inUse(box); });
  }

  var ACTION_REGIONS = { composer: true, "ticket-actions": true };

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail;
    var incoming = detail.fragment && detail.fragment.firstElementChild;
    if (incoming && older(detail.target, incoming.getAttribute("data-version"))) { detail.shouldSwap = false; return; }
    // The live update brings the actions the ticket takes now; a form the agent is writing in
    // stays as it is (with the version it was loaded at: sending it says if a change concerns it),
    // even if the action is no longer offered.
    if (!incoming || !detail.target || !ACTION_REGIONS[detail.target.id]) { return; }
    formsInUse(detail.target).forEach(function (box) {
      var twin = incoming.querySelector("#" + CSS.escape(box.id));
      if (!twin) {
        twin = document.createElement(box.tagName);
        twin.id = box.id;
        incoming.appendChild(twin);
      }
      twin.setAttribute("hx-preserve", "true");
    });
  });

  // The agent's own action redraws the whole ticket: what they had typed in other forms comes back.
  var typed = null;

  function rememberTyped(form) {
    var ticket = document.getElementById("ticket");
    var sent = form && form.closest ? form.closest(".action[id$='_form']") : null;
    typed = { fields: {}, open: [] };
    formsInUse(ticket, sent).forEach(function (box) {
      if (box.tagName === "DETAILS" && box.open) { typed.open.push(box.id); }
      $$("textarea, input[type=text], input[type=email]", box).forEach(function (field) {
        if (field.id && field.value.trim() !== "") { typed.fields[field.id] = field.value; }
      });
    });
  }

  function restoreTyped() {
    if (!typed) { return; }
    Object.keys(typed.fields).forEach(function (id) {
      var field = document.getElementById(id);
      if (field && field.value.trim() === "") { field.value = typed.fields[id]; }
    });
    typed.open.forEach(function (id) {
      var box = document.getElementById(id);
      if (box && box.tagName === "DETAILS") { box.open = true; }
    });
    typed = null;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var thread = document.getElementById("thread");
    if (!elt || elt.tagName !== "FORM" || !thread || !elt.closest("#ticket")) { return; }
    // The newest version the page has shown: a customer's message it showed concerns no answer.
    if (elt.querySelector("input[name=seen]")) { event.detail.parameters.seen = thread.getAttribute("data-version"); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail.target && typeof detail.serverResponse === "string") {
      var first = /^\s*<[^>]*\bdata-version="([\d.]+)"/.exec(detail.serverResponse);
      if (first && older(detail.target, first[1])) { detail.shouldSwap = false; return; }
    }
    if (detail.target && detail.target.id === "ticket" && detail.shouldSwap) {
      rememberTyped(detail.requestConfig && detail.requestConfig.elt);
    }
    if (!detail.target || detail.target.id !== "results") { return; }
    var elt = detail.requestConfig && detail.requestConfig.elt;
    if (elt && elt.id === "bulk" && detail.xhr && detail.xhr.status === 200) {
      picked = {}; // done: start the next selection afresh
    } else {
      rememberPicks();
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    restoreTyped();
    restorePicks();
    markCurrentRow();
    markNewItems();
    updatePresenceState();
    if (fromLiveRegion(detail)) { return; } // never move focus on a refresh nobody asked for
    var target = detail.target && (detail.target.isConnected ? detail.target
      : detail.target.id && document.getElementById(detail.target.id));
    var scope = target || document;
    var focus = $("[data-autofocus]", scope) || (target && $("[role=alert]", target));
    if (!focus && detail.requestConfig && detail.requestConfig.verb !== "get") { focus = $("#flash .flash"); }
    if (!focus && (document.activeElement === document.body || !document.activeElement)) {
      focus = document.getElementById(detail.target && detail.target.id) || $("#results");
    }
    if (focus) {
      if (!focus.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(focus.tagName)) {
        focus.setAttribute("tabindex", "-1");
      }
      focus.focus();
    }
  });

  // --- phones: a folded menu stays open across a live refresh; the filter toggle counts ------

  var openMenus = [];

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    openMenus = target ? $$("details[data-keep-open][open]", target).map(function (menu) {
      return { id: menu.id, focused: menu.contains(document.activeElement) };
    }) : [];
  });

  document.addEventListener("htmx:afterSwap", function () {
    openMenus.forEach(function (kept) {
      var menu = document.getElementById(kept.id);
      if (!menu) { return; }
      menu.open = true;
      if (kept.focused) { $("summary", menu).focus(); }
    });
    openMenus = [];
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#queue-filters");
    var count = form && $("[data-filter-count]", form);
    if (!count) { return; }
    var active = $$(".filter-fields select", form).filter(function (select) { return select.value !== ""; }).length;
    count.textContent = active ? "(" + active + " active)" : "";
  });

  // --- the ticket page: canned responses go in at the caret, never over what was typed ------

  var caretSet = {}; // textareas (by id) the agent has put the caret in

  document.addEventListener("focusin", function (event) {
    if (event.target.tagName === "TEXTAREA" && event.target.id) { caretSet[event.target.id] = true; }
  });

  function insertText(area, text) {
    var value = area.value, known = caretSet[area.id];
    var before = value.slice(0, known ? area.selectionStart : value.length);
    var after = value.slice(known ? area.selectionEnd : value.length);
    if (before.trim() && !/\n\n$/.test(before)) { before += /\n$/.test(before) ? "\n" : "\n\n"; }
    if (after.trim() && !/^\n/.test(after)) { text += "\n\n"; }
    area.value = before + text + after;
    area.focus();
    area.setSelectionRange((before + text).length, (before + text).length);
    area.dispatchEvent(new Event("input", { bubbles: true })); // typed text: kept across refreshes
  }

  function openCannedPicker() {
    var picker = document.getElementById("canned_form");
    var search = document.getElementById("canned-q");
    if (!picker || !search) { return false; }
    picker.open = true;
    search.focus();
    search.scrollIntoView({ block: "center" });
    return true;
  }

  // The response's files go with the form it went into: listed there, each sent unless removed.
  function attachCannedFiles(form, link) {
    var files = link.parentNode && $("template[data-canned-files-for]", link.parentNode);
    var actions = form && $(".form-actions", form);
    if (!files || !actions) { return; }
    $$("[data-canned-file]", files.content).forEach(function (item) {
      var id = $("input[name=canned_file]", item).value;
      if ($("input[name=canned_file][value='" + id + "']", form)) { return; } // already there
      form.insertBefore(document.importNode(item, true), actions);
    });
  }

  document.addEventListener("click", function (event) {
    var remove = event.target.closest && event.target.closest("[data-canned-file-remove]");
    if (!remove) { return; }
    var item = remove.closest("[data-canned-file]");
    var form = item && item.closest("form");
    if (!item) { return; }
    var name = $("a", item);
    item.remove();
    if (form) { form.dispatchEvent(new Event("input", { bubbles: true })); }
    announce((name ? name.textContent : "The file") + " will not be sent.");
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-canned-text]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || !window.fetch) { return; }
    var select = document.getElementById("canned-into");
    var box = document.getElementById(((select && select.value) || link.getAttribute("data-canned-into")) + "_form");
    var area = box && $("textarea", box);
    if (!area) { return; } // the link redraws the page with the text in the form
    event.preventDefault();
    fetch(link.getAttribute("data-canned-text"), { credentials: "same-origin", headers: { Accept: "text/plain" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        if (box.tagName === "DETAILS") { box.open = true; }
        var picker = document.getElementById("canned_form"), search = document.getElementById("canned-q");
        if (search) { search.value = ""; }
        if (picker) { picker.open = false; }
        insertText(area, text);
        attachCannedFiles(area.form, link);
        var title = $("strong", link);
        announce("Inserted " + (title ? "“" + title.textContent + "”" : "the canned response") + ".");
      }, function () { window.location.href = link.href; });
  });

  // --- keyboard shortcuts -------------------------------------------------------------------

  function openHelp() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  function openComposer(id) {
    var details = document.getElementById(id);
    if (!details) { return false; }
    if (details.tagName === "DETAILS") { details.open = true; }
    var area = $("textarea", details);
    if (!area) { return false; }
    area.focus();
    area.scrollIntoView({ block: "center" });
    return true;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts]")) { openHelp(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) { return; }
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) { return; } // Escape closes it natively
    var handled = true;
    switch (event.key) {
      case "j": moveRow(1); break;
      case "k": moveRow(-1); break;
      case "x": {
        var box = currentRow && document.getElementById("pick-" + currentRow);
        if (box) { box.click(); } else { handled = false; }
        break;
      }
      case "Enter": {
        var row = currentRow && document.getElementById("open-" + currentRow);
        if (row && (event.target === document.body || event.target.tagName === "MAIN" || event.target.id === "results")) {
          row.click();
        } else { handled = false; }
        break;
      }
      case "r": handled = openComposer("reply_form"); break;
      case "n": handled = openComposer("note_form"); break;
      case "c": handled = openCannedPicker(); break;
      case "/": {
        var search = document.getElementById("q");
        if (search) { search.focus(); } else { handled = false; }
        break;
      }
      case "?": openHelp(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // --- copy buttons: [data-copy] names the field whose text it copies (a key shown once) -----

  function copyText(field) {
    if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(field.value); }
    // Over plain HTTP (not localhost) browsers offer no clipboard API: the older command still works.
    field.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!field) { return; }
    copyText(field).then(function () {
      button.classList.add("copied");
      $("[data-copy-label]", button).textContent = "Copied";
      if (status) { status.textContent = "Copied to the clipboard."; status.classList.add("ok"); }
    }, function () {
      field.focus();
      field.select();
      if (status) { status.textContent = "Your browser did not allow copying: the key is selected, press Ctrl+C (⌘C on a Mac)."; }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    $$("[data-copy][hidden]").forEach(function (button) { button.hidden = false; });
  });

  // Reports: picking a date of a custom range picks "Custom range" too (in the capture phase, so
  // the form's own change listener already sends the custom range).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("[data-custom-range]")) return;
    var period = document.getElementById(target.getAttribute("data-custom-range"));
    if (period && target.value) period.value = "custom";
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    markNewItems();
    updateSelectedCount();
  });
})();
