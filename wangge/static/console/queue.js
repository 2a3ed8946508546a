/* The queue: keyboard moves (j/k, arrows, Enter, x, /), selection for bulk dispatch, and the
   live refresh's bookkeeping (htmx polls #queue-live; this pauses it while cases are selected,
   keeps the focused row, and marks rows that were not there before). No workflow here. */
(function () {
  "use strict";
  var live = document.getElementById("queue-live");
  if (!live) return;
  var bulk = document.getElementById("bulk-form");
  var news = document.getElementById("queue-news");
  var currentId = null;
  var before = null;
  var fresh = {};

  function rows() { return Array.prototype.slice.call(live.querySelectorAll("tr.case-row")); }
  function picked() { return live.querySelectorAll('input[name="case"]:checked'); }
  function rowById(id) { return id ? live.querySelector('tr.case-row[data-case="' + id + '"]') : null; }

  function mark(row) {
    rows().forEach(function (r) { r.classList.remove("is-current"); });
    if (!row) return;
    row.classList.add("is-current");
    currentId = row.getAttribute("data-case");
    if (fresh[currentId]) { delete fresh[currentId]; row.classList.remove("is-new"); }
  }
  function focusRow(row) {
    if (!row) return;
    mark(row);
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  function currentRow() {
    var a = document.activeElement;
    var row = a && a.closest ? a.closest("tr.case-row") : null;
    return row && live.contains(row) ? row : rowById(currentId);
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    var i = list.indexOf(currentRow());
    focusRow(i < 0 ? list[0] : list[Math.min(list.length - 1, Math.max(0, i + step))]);
  }
  function countSelected() {
    var out = document.getElementById("selected-count");
    if (out) out.textContent = out.getAttribute("data-template").replace("%(n)s", picked().length);
  }
  function toggle(row) {
    var box = row && row.querySelector('input[name="case"]');
    if (!box) return;
    box.checked = !box.checked;
    countSelected();
  }

  window.wanggeQueue = {
    // htmx asks before each poll: never replace rows under a selection or a half-filled form.
    mayRefresh: function () {
      var a = document.activeElement;
      return picked().length === 0 && !(bulk && a && bulk.contains(a)) && !document.hidden;
    }
  };

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    var tag = t.tagName;
    var typing = (tag === "INPUT" && t.type !== "checkbox") || tag === "SELECT" ||
      tag === "TEXTAREA" || t.isContentEditable;
    if (typing) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var inTable = live.contains(t) || t === document.body;
    var row;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowDown": if (!inTable) return; move(1); break;
      case "ArrowUp": if (!inTable) return; move(-1); break;
      case "Enter":
        row = currentRow();
        if (!row || t !== row) return; // links and buttons keep their own Enter
        window.location.href = row.getAttribute("data-href");
        break;
      case "x":
        row = currentRow();
        if (!row) return;
        toggle(row);
        break;
      case "/":
        var search = document.getElementById("id_q");
        if (!search) return;
        search.focus();
        search.select();
        break;
      default: return;
    }
    e.preventDefault();
  });

  live.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("tr.case-row");
    if (!row) return;
    mark(row);
    var tag = e.target.tagName;
    if (tag === "A" || tag === "INPUT" || tag === "LABEL" || e.target.closest("td.pick")) return;
    window.location.href = row.getAttribute("data-href"); // the whole row opens the case
  });
  live.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("tr.case-row");
    if (row) mark(row);
  });
  live.addEventListener("change", function (e) {
    if (e.target.id === "pick-all") {
      live.querySelectorAll('input[name="case"]').forEach(function (box) { box.checked = e.target.checked; });
    }
    countSelected();
  });

  live.addEventListener("htmx:beforeSwap", function () {
    before = {};
    rows().forEach(function (r) { before[r.getAttribute("data-case")] = true; });
  });
  live.addEventListener("htmx:afterSwap", function () {
    var hadFocus = document.activeElement === document.body || document.activeElement === null;
    var added = 0;
    var label = live.getAttribute("data-new-label") || "";
    rows().forEach(function (r) {
      var id = r.getAttribute("data-case");
      if (before && !before[id]) { fresh[id] = true; added += 1; }
      if (fresh[id]) { r.classList.add("is-new"); r.setAttribute("data-new", label); }
    });
    var row = rowById(currentId);
    if (row) {
      row.classList.add("is-current");
      if (hadFocus) row.focus({ preventScroll: true });
    }
    if (added && news) news.textContent = live.getAttribute("data-news-template").replace("%(n)s", added);
    countSelected();
  });
})();
