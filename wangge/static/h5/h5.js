/* wangge H5 pages: register the service worker, show the network and the outbox, find the
   position, and turn the forms into drafts for the outbox (outbox.js). The pages are rendered
   by the server; this script only queues and sends. */
(function () {
  "use strict";

  var outbox = window.H5Outbox;
  var t = outbox.text;
  var body = document.body;
  var me = body.dataset.user;
  var settled = JSON.parse(document.getElementById("h5-settled").textContent);
  var position = null;
  var RETRY_MS = 15000;

  // --- service worker and network -------------------------------------------------------------

  if ("serviceWorker" in navigator && body.dataset.sw) {
    navigator.serviceWorker.register(body.dataset.sw, {scope: body.dataset.scope}).catch(function () {});
  }

  function showNetwork() {
    var net = document.getElementById("net");
    if (!net) { return; }
    net.textContent = navigator.onLine ? t("online") : t("offline");
    net.className = "net " + (navigator.onLine ? "on" : "off");
  }

  // --- the outbox on every page -----------------------------------------------------------------

  var live = {};  // draft id → what is happening to it now

  function describe(item) {
    if (item.user !== me) { return t("otherUser", {user: item.user}); }
    if (item.error) { return t("refused", {message: item.error}); }
    return live[item.id] === "sending" ? t("sending") : t("waiting");
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  function render() {
    return outbox.all().then(function (items) {
      var section = document.getElementById("outbox");
      var list = document.getElementById("outbox-list");
      if (!section || !list) { return; }
      list.textContent = "";
      var pendingCases = {};
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "draft" + (item.error ? " refused" : "");
        li.dataset.draft = item.id;
        var label = document.createElement("strong");
        label.textContent = item.label;
        var state = document.createElement("span");
        state.className = "draft-state";
        state.textContent = describe(item);
        li.appendChild(label);
        li.appendChild(state);
        if (item.error && item.user === me) {
          li.appendChild(button(t("retry"), function () { outbox.retry(item.id).then(render); }));
          li.appendChild(button(t("discard"), function () {
            if (window.confirm(t("confirmDiscard"))) { outbox.discard(item.id).then(render); }
          }));
        }
        list.appendChild(li);
        if (item.caseId) { pendingCases[item.caseId] = true; }
      });
      section.hidden = items.length === 0;
      document.querySelectorAll("[data-pending-case]").forEach(function (node) {
        node.hidden = !pendingCases[node.dataset.pendingCase];
      });
      var note = document.getElementById("case-pending");
      if (note && pageCase) { note.hidden = !pendingCases[pageCase]; }
    });
  }

  window.addEventListener("h5-outbox", function (event) {
    var detail = event.detail;
    if (detail.item) {
      live[detail.item.id] = detail.type;
    }
    if (detail.type === "sent") { sent(detail.item); }
    render();
  });

  // --- position -------------------------------------------------------------------------------

  function showPosition(text) {
    document.querySelectorAll("[data-gps]").forEach(function (node) { node.textContent = text; });
  }

  function positionText() {
    return t("position", {
      lon: position.lon.toFixed(6), lat: position.lat.toFixed(6),
      accuracy: Math.round(position.accuracy)
    });
  }

  if (document.querySelector("[data-gps]")) {
    if (navigator.geolocation) {
      showPosition(t("positionWait"));
      navigator.geolocation.watchPosition(function (found) {
        position = {
          lon: found.coords.longitude, lat: found.coords.latitude, accuracy: found.coords.accuracy
        };
        showPosition(positionText());
      }, function () {
        if (!position) { showPosition(t("positionNone")); }
      }, {enableHighAccuracy: true, maximumAge: 60000, timeout: 30000});
    } else {
      showPosition(t("positionNone"));
    }
  }

  // --- photos: made small enough for a weak signal, kept as Blobs ---------------------------------

  var MAX_SIDE = 1600;

  function asBlob(file) {
    return {blob: file.slice(0, file.size, file.type), name: file.name || "photo.jpg"};
  }

  function shrink(file) {
    if (!window.createImageBitmap || !/^image\/(jpeg|png|webp)$/.test(file.type) ||
        file.size < 400 * 1024) {
      return Promise.resolve(asBlob(file));
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (small) {
          if (small && small.size < file.size) {
            resolve({blob: small, name: (file.name || "photo").replace(/\.\w+$/, "") + ".jpg"});
          } else {
            resolve(asBlob(file));
          }
        }, "image/jpeg", 0.8);
      });
    }).catch(function () { return asBlob(file); });
  }

  function photosOf(input) {
    var files = input ? Array.prototype.slice.call(input.files || []) : [];
    return Promise.all(files.map(shrink)).then(function (shrunk) {
      return shrunk.map(function (p) {
        return {key: outbox.uuid(), blob: p.blob, name: p.name, sent: false};
      });
    });
  }

  document.querySelectorAll("input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var shown = document.querySelector('[data-photos-for="' + input.id + '"]');
      if (shown) { shown.textContent = t("photos", {count: input.files.length}); }
      var preview = document.getElementById("patrol-preview");
      if (preview && input.id === "patrol-photo" && input.files.length) {
        preview.src = URL.createObjectURL(input.files[0]);
        preview.hidden = false;
      }
    });
  });

  // --- a move on a case: the steps the page names, in order --------------------------------------

  var article = document.querySelector("article.case");
  var pageCase = article ? Number(article.dataset.case) : null;

  document.querySelectorAll("form.act").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      var steps = form.dataset.steps.split(" ").map(function (move) { return {move: move, done: false}; });
      var last = steps[steps.length - 1];
      if (last.move === "resolve") {
        last.body = {outcome: data.get("outcome"), note: String(data.get("note") || "").trim()};
        if (position) {  // stored on the resolve event (where the worker stood)
          last.body.lon = position.lon;
          last.body.lat = position.lat;
        }
      }
      form.querySelectorAll("button, input, textarea").forEach(function (el) { el.disabled = true; });
      photosOf(form.querySelector("input[type=file]")).then(function (photos) {
        return outbox.enqueue({
          kind: "act", label: form.dataset.label, caseId: Number(form.dataset.case), steps: steps,
          photos: photos, settled: settled
        });
      }).then(function () {
        document.querySelectorAll("form.act").forEach(function (f) { f.hidden = true; });
        var note = document.getElementById("case-pending");
        if (note) { note.hidden = false; note.textContent = t("queued"); }
        render();
      });
    });
  });

  // --- 一键上报 ---------------------------------------------------------------------------------

  var patrol = document.getElementById("patrol-form");
  var patrolStatus = document.getElementById("patrol-status");
  var patrolKeys = {};

  if (patrol) {
    patrol.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = patrol.querySelector("input[name=category]:checked");
      var photoInput = document.getElementById("patrol-photo");
      var description = document.getElementById("patrol-note").value.trim();
      var report = {
        title: chosen.dataset.name, description: description, channel: "patrol",
        category: chosen.value
      };
      if (position) {
        report.lon = position.lon;
        report.lat = position.lat;
      } else if (patrol.dataset.grid) {
        report.cell = patrol.dataset.grid;  // no position: the worker's own grid
      }
      photosOf(photoInput).then(function (photos) {
        var key = outbox.uuid();
        patrolKeys[key] = true;
        return outbox.enqueue({
          kind: "patrol", key: key, label: t("patrolLabel", {category: chosen.dataset.name}),
          report: report, photos: photos, steps: [], settled: settled
        });
      }).then(function () {
        patrol.reset();
        document.getElementById("patrol-preview").hidden = true;
        patrolStatus.textContent = t("queued");
        render();
      });
    });
  }

  function sent(item) {
    if (item.kind === "patrol" && patrolStatus && patrolKeys[item.key]) {
      patrolStatus.textContent = t("patrolSent", {code: item.tracking || ""});
    }
    // The case on screen moved: show the server's version of it.
    if (item.kind === "act" && item.caseId === pageCase && navigator.onLine) {
      window.location.reload();
    }
  }

  // --- logging out forgets the pages kept for offline use (drafts stay until sent) -----------------

  document.querySelectorAll("form[data-h5-logout]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.caches) { return; }
      event.preventDefault();
      caches.delete("h5-pages").catch(function () {}).then(function () { form.submit(); });
    });
  });

  // --- when to send: now, when the signal returns, and every little while -------------------------

  showNetwork();
  window.addEventListener("online", function () { showNetwork(); outbox.flush(); });
  window.addEventListener("offline", showNetwork);
  window.setInterval(function () { if (navigator.onLine) { outbox.flush(); } }, RETRY_MS);
  render();
  outbox.flush();
}());
