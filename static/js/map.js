// CCMap: Leaflet maps that work with no tile server (a blank grid, a scale, markers). The tile URL is a
// setting (MAP_TILE_URL, passed as data-tile-url); when it is empty or its tiles fail, the map carries on.
(function () {
  "use strict";
  const script = document.currentScript;
  const base = script ? script.src.replace(/js\/map\.js(\?.*)?$/, "vendor/leaflet/images/") : "/static/vendor/leaflet/images/";

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }

  const CCMap = {
    create: function (element, options) {
      options = options || {};
      if (window.L && L.Icon && L.Icon.Default) L.Icon.Default.imagePath = base;
      const map = L.map(element, { zoomControl: true, attributionControl: false })
        .setView(options.center || [30.2741, 120.1551], options.zoom || 13);
      L.control.scale({ imperial: false }).addTo(map);
      const url = options.tileUrl !== undefined ? options.tileUrl : (element.dataset.tileUrl || "");
      element.classList.add("cc-map-blank");
      if (url) {
        let errors = 0;
        const layer = L.tileLayer(url, { maxZoom: 19 });
        layer.on("tileerror", function () { if (++errors >= 4) map.removeLayer(layer); });
        layer.on("tileload", function () { element.classList.remove("cc-map-blank"); });
        layer.addTo(map);
      }
      return map;
    },

    pick: function (map, onPick) {
      let marker = null;
      function report(ll) { onPick({ lat: Math.round(ll.lat * 1e6) / 1e6, lng: ll.lng, lon: Math.round(ll.lng * 1e6) / 1e6 }); }
      function place(lat, lon) {
        if (marker) marker.setLatLng([lat, lon]);
        else {
          marker = L.marker([lat, lon], { draggable: true }).addTo(map);
          marker.on("dragend", function () { report(marker.getLatLng()); });
        }
      }
      map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); report(e.latlng); });
      return {
        set: function (lat, lon) { place(lat, lon); map.panTo([lat, lon]); },
        clear: function () { if (marker) { map.removeLayer(marker); marker = null; } },
      };
    },

    markers: function (map) {
      const group = L.layerGroup().addTo(map);
      const byId = {};
      return {
        upsert: function (id, lat, lon, opts) {
          opts = opts || {};
          let m = byId[id];
          if (m) { m.setLatLng([lat, lon]); }
          else {
            m = opts.className
              ? L.circleMarker([lat, lon], { radius: 7, className: opts.className, weight: 2 })
              : L.marker([lat, lon], { title: opts.title || "" });
            m.addTo(group);
            byId[id] = m;
          }
          if (opts.title) m.bindTooltip(esc(opts.title));
          if (opts.popupHtml) m.bindPopup(opts.popupHtml);
          return m;
        },
        remove: function (id) { if (byId[id]) { group.removeLayer(byId[id]); delete byId[id]; } },
        fit: function () {
          const pts = Object.keys(byId).map(function (k) { return byId[k].getLatLng(); });
          if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.2), { maxZoom: 16 });
        },
      };
    },
  };
  window.CCMap = CCMap;
})();
