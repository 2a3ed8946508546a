/* wangge H5 outbox: what a grid worker sends waits on the phone (IndexedDB, photos as Blobs)
   with its idempotency keys until the server has confirmed it.

   - In order: drafts are sent oldest first; a failure of the network stops the round, so
     nothing overtakes what is still waiting.
   - Never twice: a report and each photo carry their own Idempotency-Key (a repeat answers 200
     with the first); a move (accept, start, resolve) that the server refuses as an illegal
     transition is checked against the case: if the case is already where the move leads
     (the page says which states those are), it counts as sent.
   - Never lost: a draft is deleted only after the server's answer for its last step; each step
     done is written back first, so a reload resumes where it stopped.

   No rule of the case loop lives here: the pages say which moves to send and which states
   count as done. */
(function () {
  "use strict";

  var DB_NAME = "wangge-h5";
  var STORE = "outbox";
  var API = "/api/v1/cases";
  var LOCK = "wangge-h5-outbox";
  var dbPromise = null;
  var running = null;
  var again = false;

  // --- IndexedDB ---------------------------------------------------------------------------

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          req.result.createObjectStore(STORE, {keyPath: "id", autoIncrement: true});
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function all() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return items.sort(function (a, b) { return a.id - b.id; });
    });
  }

  function put(item) { return withStore("readwrite", function (store) { return store.put(item); }); }

  function remove(id) { return withStore("readwrite", function (store) { return store.delete(id); }); }

  // --- keys and requests -------------------------------------------------------------------

  // crypto.randomUUID needs a secure context; getRandomValues works on a plain-http intranet too.
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)]
      .map(function (part) { return part.join(""); }).join("-");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : document.body.dataset.csrf;
  }

  // A failure worth trying again later (no signal, server busy, logged out) stops the round;
  // a refusal is kept with the server's message for the worker to see.
  function Failure(message, transient) { this.message = message; this.transient = transient; }

  function call(method, url, body, key) {
    var headers = {"Accept": "application/json", "X-CSRFToken": csrfToken()};
    if (key) { headers["Idempotency-Key"] = key; }
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(url, {
      method: method, headers: headers, body: body, credentials: "same-origin", cache: "no-store"
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return {status: res.status, data: data || {}};
      });
    }, function () {
      throw new Failure(H5Outbox.text("offline"), true);
    });
  }

  function accepted(answer) {
    if (answer.status >= 200 && answer.status < 300) { return answer.data; }
    var code = answer.data.code || "";
    var message = answer.data.message || ("HTTP " + answer.status);
    var transient = answer.status >= 500 || answer.status === 401 || answer.status === 408 ||
      answer.status === 429 || code === "csrf" || code === "changed_meanwhile";
    throw new Failure(message, transient);
  }

  // --- sending one draft ---------------------------------------------------------------------

  function sendReport(item) {
    if (item.kind !== "patrol" || item.caseId) { return Promise.resolve(); }
    return call("POST", API, item.report, item.key).then(accepted).then(function (data) {
      if (!data.id) { throw new Failure(H5Outbox.text("offline"), true); }
      item.caseId = data.id;
      item.tracking = data.tracking_code;
      return put(item);
    });
  }

  function sendPhoto(item, photo) {
    if (photo.sent) { return Promise.resolve(); }
    var form = new FormData();
    form.append("file", photo.blob, photo.name);
    return call("POST", API + "/" + item.caseId + "/attachments", form, photo.key)
      .then(accepted).then(function () {
        photo.sent = true;
        return put(item);
      });
  }

  function sendMove(item, step) {
    if (step.done) { return Promise.resolve(); }
    var url = API + "/" + item.caseId + "/" + step.move;
    return call("POST", url, step.body || {}).then(function (answer) {
      if (answer.status !== 409 || answer.data.code !== "illegal_transition") {
        return accepted(answer);
      }
      // Refused because the case is not where this move starts: done before (our first try
      // whose answer was lost, or a colleague), or overtaken by something else?
      return call("GET", API + "/" + item.caseId).then(accepted).then(function (now) {
        if ((item.settled[step.move] || []).indexOf(now.state) < 0) {
          throw new Failure(answer.data.message, false);
        }
      });
    }).then(function () {
      step.done = true;
      return put(item);
    });
  }

  function inTurn(list, work) {
    return list.reduce(function (before, entry) {
      return before.then(function () { return work(entry); });
    }, Promise.resolve());
  }

  function send(item) {
    return sendReport(item)
      .then(function () { return inTurn(item.photos || [], function (p) { return sendPhoto(item, p); }); })
      .then(function () { return inTurn(item.steps || [], function (s) { return sendMove(item, s); }); })
      .then(function () { return remove(item.id); });
  }

  // --- the round -----------------------------------------------------------------------------

  function announce(type, item, message) {
    window.dispatchEvent(new CustomEvent("h5-outbox", {
      detail: {type: type, item: item, message: message || ""}
    }));
  }

  function round() {
    var me = document.body.dataset.user;
    return all().then(function (items) {
      var stopped = false;
      return inTurn(items, function (item) {
        // Another worker's drafts wait for them to log in on this phone; refused ones wait for
        // the worker to try again or discard them.
        if (stopped || item.user !== me || item.error) { return; }
        announce("sending", item);
        return send(item).then(function () {
          announce("sent", item);
        }, function (failure) {
          if (!(failure instanceof Failure) || failure.transient) {
            stopped = true;
            announce("waiting", item, failure && failure.message);
            return;
          }
          item.error = failure.message;
          return put(item).then(function () { announce("refused", item, failure.message); });
        });
      });
    });
  }

  // One round at a time, across the tabs of this phone too where the browser can lock; a
  // draft queued during a round gets a round of its own right after.
  function flush() {
    if (running) {
      again = true;
      return running;
    }
    var work = navigator.locks ? function () { return navigator.locks.request(LOCK, round); } : round;
    running = work().catch(function (err) {
      announce("waiting", null, String(err));
    }).then(function () {
      running = null;
      announce("changed", null);
      if (again) {
        again = false;
        return flush();
      }
    });
    return running;
  }

  function enqueue(item) {
    item.user = document.body.dataset.user;
    item.created = new Date().toISOString();
    item.error = "";
    return put(item).then(function (id) {
      item.id = id;
      announce("queued", item);
      flush();
      return item;
    });
  }

  function retry(id) {
    return all().then(function (items) {
      var item = items.filter(function (i) { return i.id === id; })[0];
      if (!item) { return; }
      item.error = "";
      return put(item);
    }).then(flush);
  }

  // The worker's own choice, for a draft the server refused; never done by the script itself.
  function discard(id) {
    return remove(id).then(function () { announce("changed", null); });
  }

  var texts = null;

  window.H5Outbox = {
    all: all,
    enqueue: enqueue,
    flush: flush,
    retry: retry,
    discard: discard,
    uuid: uuid,
    text: function (name, values) {
      if (!texts) {
        var node = document.getElementById("h5-texts");
        texts = node ? JSON.parse(node.textContent) : {};
      }
      var text = texts[name] || name;
      Object.keys(values || {}).forEach(function (key) {
        text = text.split("%(" + key + ")s").join(String(values[key]));
      });
      return text;
    }
  };
}());
