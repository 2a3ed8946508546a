/* The resident's report form: a pin on a Leaflet map fills the hidden lon/lat fields; the grid
   polygons come from our own JSON, tiles only from the configured intranet server. No rules
   here: the server decides everything. Strings arrive translated in #map-config. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var form = document.getElementById("report-form");
  var lon = document.getElementById("id_lon");
  var lat = document.getElementById("id_lat");
  var status = document.getElementById("pin-status");

  // 匿名: name and phone are not sent at all (the server drops them too).
  var anonymous = document.getElementById("id_anonymous");
  var contact = document.getElementById("contact-fields");
  function toggleContact() {
    var off = anonymous.checked;
    contact.hidden = off;
    contact.querySelectorAll("input").forEach(function (input) { input.disabled = off; });
  }
  anonymous.addEventListener("change", toggleContact);
  toggleContact();

  // One submit per form: the idempotency key makes a second harmless, this makes it rare.
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    window.setTimeout(function () { button.disabled = true; }, 0);
  });

  var el = document.getElementById("report-map");
  if (!el || !window.L) { return; }
  document.querySelector(".map-tools").hidden = false;

  var map = L.map(el, { attributionControl: Boolean(config.tileUrl) });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  if (config.bounds) {
    map.fitBounds(config.bounds);
  } else {
    map.setView([35, 105], 4);
  }

  var marker = null;
  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    status.textContent = config.text.marked;
  }
  function clear() {
    if (marker) { map.removeLayer(marker); marker = null; }
    lat.value = "";
    lon.value = "";
    status.textContent = config.text.none;
  }
  if (config.pin) { place(L.latLng(config.pin[0], config.pin[1])); }

  map.on("click", function (event) { place(event.latlng); });
  document.getElementById("pin-centre").addEventListener("click", function () {
    place(map.getCenter());
  });
  document.getElementById("pin-clear").addEventListener("click", clear);
  var locate = document.getElementById("pin-locate");
  if (!navigator.geolocation) { locate.hidden = true; }
  locate.addEventListener("click", function () {
    status.textContent = config.text.locating;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var here = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.setView(here, Math.max(map.getZoom(), 16));
        place(here);
      },
      function () { status.textContent = config.text.noLocation; },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });

  fetch(config.gridsUrl, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      L.geoJSON(data, {
        interactive: false,
        style: function (feature) {
          var mine = feature.properties.code === config.grid;
          return {
            color: mine ? "#0b4f8a" : "#52606d",
            weight: mine ? 3 : 1,
            fillColor: mine ? "#2f80ed" : "#cbd2d9",
            fillOpacity: mine ? 0.15 : 0.05
          };
        }
      }).addTo(map);
      el.dataset.ready = "true";
    })
    .catch(function () { el.dataset.ready = "true"; });
})();
