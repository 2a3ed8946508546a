/* The console map: grid polygons and case markers (clustered) from the console's JSON views.
   A tile layer only when the deployment names one (intranets have none): otherwise the grid
   is drawn on a plain background. */
(function () {
  "use strict";
  var el = document.getElementById("console-map");
  if (!el || !window.L) return;
  var status = document.getElementById("map-status");
  var list = document.getElementById("map-list");
  var TONES = { red: "#c81e1e", yellow: "#f0b400", green: "#1b7a3a", "new": "#0b4f8a", other: "#8a96a3" };
  var RANK = { red: 0, yellow: 1, "new": 2, green: 3, other: 4 };

  // The clusters need a highest zoom even without tiles.
  var map = L.map(el, { zoomSnap: 0.5, maxZoom: 19 }).setView([34.45, 115.1], 10);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }

  function tone(c) {
    if (c.colour) return c.colour;
    return c.state === "new" || c.state === "returned" ? "new" : "other";
  }
  function say(text) { if (status) status.textContent = text; }
  function fill(template, key, value) { return (template || "").replace("%(" + key + ")s", value); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  getJSON(el.dataset.grids).then(function (fc) {
    var layer = L.geoJSON(fc, {
      style: function (f) {
        var level = f.properties.level;
        return {
          color: level <= 2 ? "#0b4f8a" : level === 3 ? "#3d6f9e" : "#7f9bb8",
          weight: level <= 2 ? 3 : level === 3 ? 2 : 1,
          fill: level === 4, fillColor: "#ffffff", fillOpacity: 0.35
        };
      },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.name + " " + f.properties.code, { sticky: true }); }
    }).addTo(map);
    layer.bringToBack();
    var bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
  }).catch(function () { say(status && status.dataset.failed); });

  var clusters = L.markerClusterGroup({
    showCoverageOnHover: false,
    maxClusterRadius: 50,
    iconCreateFunction: function (cluster) {
      var worst = "other";
      cluster.getAllChildMarkers().forEach(function (m) {
        if (RANK[m.options.tone] < RANK[worst]) worst = m.options.tone;
      });
      var n = cluster.getChildCount();
      var icon = L.divIcon({
        html: '<div title="' + fill(el.dataset.clusterTemplate, "n", n) + '"><span>' + n + "</span></div>",
        className: "marker-cluster cluster-" + worst,
        iconSize: L.point(40, 40)
      });
      return icon;
    }
  }).addTo(map);

  getJSON(el.dataset.cases).then(function (data) {
    var items = [];
    data.cases.forEach(function (c) {
      var t = tone(c);
      var marker = L.circleMarker([c.lat, c.lon], {
        tone: t, radius: 9, weight: 2, color: "#1f2933", fillColor: TONES[t], fillOpacity: 0.95,
        className: "case-marker case-marker-" + t
      });
      // Built as DOM nodes: titles are residents' words, never markup.
      var box = document.createElement("div");
      box.className = "map-popup";
      var link = document.createElement("a");
      link.href = c.url;
      link.textContent = c.code;
      link.setAttribute("aria-label", fill(el.dataset.openTemplate, "code", c.code));
      var title = document.createElement("div");
      title.textContent = c.title;
      var state = document.createElement("div");
      state.textContent = c.state_label + (c.colour_label ? " · " + c.colour_label : "");
      box.appendChild(link); box.appendChild(title); box.appendChild(state);
      marker.bindPopup(box);
      marker.bindTooltip(c.code + " " + c.title);
      marker.caseId = c.id;
      clusters.addLayer(marker);

      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = c.url;
      a.className = "code";
      a.textContent = c.code;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + c.title + " — " + state.textContent));
      items.push(li);
    });
    if (list) items.forEach(function (li) { list.appendChild(li); });
    el.dataset.loaded = String(data.cases.length);
    say(fill(status && status.dataset.loadedTemplate, "n", data.cases.length) +
      (data.truncated ? " " + status.dataset.truncated : ""));
  }).catch(function () { say(status && status.dataset.failed); });
})();
