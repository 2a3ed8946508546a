/* 一屏观全域: draws the areas on the map and the two charts, and feeds them the numbers of each
   30-second refresh (htmx swaps the panels; the map and the chart elements are preserved).
   Every figure comes from the server; nothing here counts or judges cases. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("screen-config").textContent);
  var labels = config.labels;
  var layers = {}; // area code → Leaflet layer
  var lastGood = null;

  function data() {
    return JSON.parse(document.getElementById("screen-data").textContent);
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  // Dark for no open case, brighter and warmer towards the area with most open cases.
  var LOW = [22, 57, 92];
  var HIGH = [255, 159, 67];
  function fill(open, most) {
    var t = most ? Math.sqrt(open / most) : 0;
    var rgb = LOW.map(function (lo, i) { return Math.round(lo + (HIGH[i] - lo) * t); });
    return "rgb(" + rgb.join(",") + ")";
  }

  function styleFor(area, most) {
    return {
      color: area.red ? "#ff6b6b" : "#5ad1ff",
      weight: area.red ? 4 : 1.5,
      fillColor: fill(area.open, most),
      fillOpacity: 0.75,
      className: "sc-area",
    };
  }

  function labelFor(area) {
    return "<b>" + escapeHtml(area.name) + "</b>" +
      escapeHtml(labels.open) + " " + area.open +
      (area.red ? ' · <span class="red">' + escapeHtml(labels.red) + " " + area.red + "</span>" : "");
  }

  function go(url) { window.location.assign(url); }

  function drawMap() {
    var el = document.getElementById("screen-map");
    var map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(config.tileUrl) });
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    // The map needs a view before it renders any shape (and gives them their elements).
    var shown = config.bounds ? [config.bounds] : config.areas.map(function (a) { return a.geometry; });
    var bounds = L.geoJSON(shown).getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
    else { map.setView([0, 0], 2); }
    var group = L.featureGroup().addTo(map);
    config.areas.forEach(function (area) {
      var layer = L.geoJSON(area.geometry, { style: { className: "sc-area" } });
      layer.eachLayer(function (shape) {
        shape.addTo(group);
        var path = shape.getElement();
        path.setAttribute("data-code", area.code);
        path.setAttribute("aria-label", area.name);
        if (area.url) {
          shape.on("click", function () { go(area.url); });
          path.setAttribute("tabindex", "0");
          path.setAttribute("role", "link");
          path.addEventListener("keydown", function (event) {
            if (event.key === "Enter" || event.key === " ") { event.preventDefault(); go(area.url); }
          });
        } else {
          path.style.cursor = "default";
        }
        layers[area.code] = (layers[area.code] || []).concat([shape]);
      });
    });
    new ResizeObserver(function () { map.invalidateSize(); }).observe(el);
  }

  function paintMap(areas) {
    var most = Math.max.apply(null, [0].concat(areas.map(function (a) { return a.open; })));
    areas.forEach(function (area) {
      (layers[area.code] || []).forEach(function (shape) {
        shape.setStyle(styleFor(area, most));
        var path = shape.getElement();
        path.setAttribute("data-open", area.open);
        path.setAttribute("data-red", area.red);
        if (shape.getTooltip()) { shape.setTooltipContent(labelFor(area)); }
        else {
          shape.bindTooltip(labelFor(area), {
            permanent: true, direction: "center", className: "sc-label", opacity: 1,
          });
        }
      });
    });
  }

  function layout(extra) {
    var base = {
      template: config.plotlyTemplate,
      margin: { l: 48, r: 16, t: 8, b: 40 },
      font: { size: 16, color: "#eef4ff" },
      legend: { orientation: "h", y: 1.12, x: 0 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
    };
    return Object.assign(base, extra);
  }

  var plotOptions = { displayModeBar: false, responsive: true };

  // Counts are whole: below five, one tick per case rather than 0.5 steps.
  function countAxis(values) {
    var most = Math.max.apply(null, [0].concat(values));
    return most <= 5 ? { rangemode: "tozero", dtick: 1 } : { rangemode: "tozero" };
  }

  function drawCharts(d) {
    Plotly.react("chart-trend", [
      {
        type: "bar", name: labels.reported, x: d.series.dates, y: d.series.reported,
        marker: { color: "#5ad1ff" },
      },
      {
        type: "scatter", mode: "lines+markers", name: labels.resolved, x: d.series.dates,
        y: d.series.resolved, line: { color: "#6ee7a0", width: 3 },
      },
    ], layout({
      xaxis: { type: "date", tickformat: "%m-%d" },
      yaxis: countAxis(d.series.reported.concat(d.series.resolved)),
    }),
    plotOptions);
    // Largest at the top: horizontal bars run bottom-up, so reverse.
    Plotly.react("chart-categories", [{
      type: "bar", orientation: "h", name: labels.cases,
      x: d.categories.counts.slice().reverse(), y: d.categories.names.slice().reverse(),
      marker: { color: "#ff9f43" }, text: d.categories.counts.slice().reverse(),
      textposition: "auto", textfont: { size: 16, color: "#07111f" },
    }], layout({ margin: { l: 120, r: 16, t: 8, b: 32 }, showlegend: false,
      xaxis: countAxis(d.categories.counts), yaxis: { automargin: true } }), plotOptions);
  }

  function refresh() {
    var d = data();
    paintMap(d.areas);
    drawCharts(d);
    lastGood = document.getElementById("screen-updated").textContent;
    document.getElementById("screen-alert").hidden = true;
  }

  function failed() {
    var alert = document.getElementById("screen-alert");
    alert.textContent = labels.failed.replace("%(time)s", lastGood || "—");
    alert.hidden = false;
  }

  drawMap();
  refresh();
  // The panels are the only thing htmx swaps on this page.
  document.body.addEventListener("htmx:afterSettle", refresh);
  document.body.addEventListener("htmx:responseError", failed);
  document.body.addEventListener("htmx:sendError", failed);
})();
