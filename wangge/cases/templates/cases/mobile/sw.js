/* wangge H5 service worker ({{ version }}): the app shell from the cache, pages from the network
   with the last copy as fallback. The API is never cached: drafts wait in the pages' outbox
   (IndexedDB), not here. */
"use strict";
var VERSION = "{{ version }}";
var SHELL_CACHE = "h5-shell-" + VERSION;
var PAGE_CACHE = "h5-pages";
var SHELL = {{ shell|safe }};
var PAGES = ["{% url 'h5_home' %}", "{% url 'h5_report' %}", "{% url 'h5_grid' %}"];
var OFFLINE = "{% url 'h5_offline' %}";
var SCOPE = "{% url 'h5_home' %}";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) {
      return cache.addAll(SHELL.map(function (url) { return new Request(url, {cache: "reload"}); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("h5-shell-") === 0 && key !== SHELL_CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); }).then(warmPages)
  );
});

// The main pages are kept ready, so a worker who lost the signal can still open them.
function warmPages() {
  return caches.open(PAGE_CACHE).then(function (cache) {
    return Promise.all(PAGES.map(function (url) {
      return fetch(url, {credentials: "same-origin"}).then(function (res) {
        if (res.ok && !res.redirected) { return cache.put(url, res); }
      }).catch(function () {});
    }));
  });
}

function cacheFirst(request) {
  return caches.match(request, {ignoreVary: true}).then(function (hit) {
    return hit || fetch(request).then(function (res) {
      if (res.ok) {
        var copy = res.clone();
        caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return res;
    });
  });
}

function networkFirst(request) {
  return fetch(request).then(function (res) {
    // A redirect (to the login page) is not the page asked for: never keep it under its name.
    if (res.ok && !res.redirected && res.type === "basic") {
      var copy = res.clone();
      caches.open(PAGE_CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return res;
  }).catch(function () {
    return caches.match(request, {ignoreSearch: true, ignoreVary: true}).then(function (hit) {
      return hit || caches.match(OFFLINE, {ignoreVary: true});
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (SHELL.indexOf(url.pathname) >= 0 && url.pathname !== OFFLINE) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate" && url.pathname.indexOf(SCOPE) === 0) {
    event.respondWith(networkFirst(request));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "forget-pages") { event.waitUntil(caches.delete(PAGE_CACHE)); }
});
