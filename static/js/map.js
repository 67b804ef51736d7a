// CCMap: Leaflet maps that work with no tile server (a blank grid, a metric scale, zoom, markers).
// The tile URL is a setting (MAP_TILE_URL, rendered as data-tile-url); when it is empty, or its tiles
// fail to load, the map carries on over the grid. Plain script (no modules, no build step, CSP-safe):
// load after vendor/leaflet/leaflet.js, e.g. both with `defer`, and after vendor/leaflet/leaflet.css
// plus css/map.css.
(function () {
  "use strict";

  // Marker images live in ../vendor/leaflet/images/ relative to this script. Resolve against the
  // script's own URL so it also works under a STATIC_URL prefix and with hashed names (map.<hash>.js).
  const IMAGE_PATH = (function () {
    const script = document.currentScript;
    try {
      if (script && script.src) return new URL("../vendor/leaflet/images/", script.src).href;
    } catch (e) { /* fall through */ }
    return "/static/vendor/leaflet/images/";
  })();

  const DEFAULT_CENTER = [30.2741, 120.1551];  // Hangzhou
  const DEFAULT_ZOOM = 13;
  const MAX_TILE_ERRORS = 4;  // tile errors before any tile loaded: the server is not there, drop the layer

  function setImagePath() {
    if (window.L && L.Icon && L.Icon.Default) L.Icon.Default.imagePath = IMAGE_PATH;
  }
  setImagePath();

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function finite(n) { return typeof n === "number" && isFinite(n); }
  function round6(n) { return Math.round(n * 1e6) / 1e6; }
  function validLatLon(lat, lon) { return finite(lat) && finite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180; }

  const CCMap = {
    imagePath: IMAGE_PATH,
    escape: esc,

    // create(element, {center: [lat, lon], zoom, tileUrl}) -> L.Map
    create: function (element, options) {
      options = options || {};
      if (typeof element === "string") element = document.getElementById(element);
      if (!element) throw new Error("CCMap.create: no map element");
      setImagePath();

      const c = options.center;
      const center = c && validLatLon(c[0], c[1]) ? [c[0], c[1]] : DEFAULT_CENTER;
      const zoom = finite(options.zoom) ? options.zoom : DEFAULT_ZOOM;
      const url = options.tileUrl != null ? String(options.tileUrl) : (element.dataset.tileUrl || "");

      // The grid stays under the tiles: it shows while tiles load, where one is missing, and everywhere
      // when there are no tiles at all.
      element.classList.add("cc-map-blank");
      const map = L.map(element, { zoomControl: true, attributionControl: false }).setView(center, zoom);
      L.control.scale({ imperial: false }).addTo(map);

      if (url.trim()) {
        let errors = 0;
        let loaded = 0;
        const layer = L.tileLayer(url.trim(), { maxZoom: 19 });
        layer.on("tileload", function () { loaded++; });
        layer.on("tileerror", function () {
          // A server that never answers is dropped; one that works but lacks some tiles is kept.
          if (++errors >= MAX_TILE_ERRORS && loaded === 0 && map.hasLayer(layer)) {
            map.removeLayer(layer);
            element.classList.add("cc-map-no-tiles");
          }
        });
        layer.addTo(map);
      } else {
        element.classList.add("cc-map-no-tiles");
      }
      if (element.dataset.baseMapUrl) CCMap.baseLayers(map, element.dataset.baseMapUrl);
      return map;
    },

    // baseLayers(map, url): the city's streets and jurisdictions (GeoJSON from the gazetteer, places/) drawn
    // in a pane under every marker and overlay, so a map reads as a map without any tile server. Tiles,
    // when there are some, lie below it. Returns a promise of the L.GeoJSON layer (null on failure).
    baseLayers: function (map, url) {
      if (!map.getPane("cc-base")) {
        const pane = map.createPane("cc-base");
        pane.style.zIndex = "350";  // above tiles (200), below overlays (400) and markers (600)
      }
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.features) return null;
          const layer = L.geoJSON(data, {
            pane: "cc-base",
            interactive: true,
            style: function (f) {
              return f.properties.layer === "jurisdiction"
                ? { className: "cc-base-area", color: "#64748b", weight: 1.5, dashArray: "6 4", fillColor: "#94a3b8", fillOpacity: 0.06 }
                : { className: "cc-base-street", color: "#9ca3af", weight: 3, opacity: 0.8 };
            },
            onEachFeature: function (f, l) {
              if (f.properties && f.properties.name) l.bindTooltip(esc(f.properties.name), { sticky: true, className: "cc-base-tip" });
            },
          });
          layer.addTo(map);  // clicks bubble on to the map (a pick, a deselect); tooltips show on hover
          return layer;
        })
        .catch(function () { return null; });
    },

    // pick(map, onPick): a click places (or moves) one draggable marker; clicks and drags call
    // onPick({lat, lon}) rounded to 6 decimals. set(lat, lon) places it without calling onPick.
    pick: function (map, onPick) {
      let marker = null;
      function report(ll) {
        if (typeof onPick === "function") onPick({ lat: round6(ll.lat), lon: round6(ll.lng) });
      }
      function place(lat, lon) {
        if (marker) {
          marker.setLatLng([lat, lon]);
        } else {
          marker = L.marker([lat, lon], { draggable: true, autoPan: true }).addTo(map);
          marker.on("dragend", function () { report(marker.getLatLng()); });
        }
      }
      function onClick(e) {
        const ll = e.latlng.wrap();
        place(ll.lat, ll.lng);
        report(ll);
      }
      map.on("click", onClick);
      return {
        set: function (lat, lon) {
          lat = parseFloat(lat); lon = parseFloat(lon);
          if (!validLatLon(lat, lon)) return false;
          place(lat, lon);
          map.panTo([lat, lon]);
          return true;
        },
        get: function () {
          if (!marker) return null;
          const ll = marker.getLatLng();
          return { lat: round6(ll.lat), lon: round6(ll.lng) };
        },
        clear: function () {
          if (marker) { map.removeLayer(marker); marker = null; }
        },
      };
    },

    // markers(map): a set of markers by id. With opts.className a CSS-coloured L.circleMarker
    // (e.g. cc-marker-incident, cc-marker-unit), else a default pin. title is text (escaped here),
    // popupHtml is HTML that the caller has already escaped.
    markers: function (map) {
      const group = L.layerGroup().addTo(map);
      const byId = new Map();

      function make(lat, lon, opts) {
        const m = opts.className
          ? L.circleMarker([lat, lon], { radius: 7, weight: 2, className: opts.className })
          : L.marker([lat, lon], { alt: opts.title ? String(opts.title) : "Marker" });
        m.ccClassName = opts.className || "";
        return m;
      }

      return {
        layer: group,
        upsert: function (id, lat, lon, opts) {
          opts = opts || {};
          lat = parseFloat(lat); lon = parseFloat(lon);
          if (!validLatLon(lat, lon)) return null;
          let m = byId.get(id);
          if (m && m.ccClassName !== (opts.className || "")) {  // the kind or colour changed: rebuild
            group.removeLayer(m);
            m = null;
          }
          if (m) {
            m.setLatLng([lat, lon]);
          } else {
            m = make(lat, lon, opts);
            m.addTo(group);
            byId.set(id, m);
          }
          if (opts.title) {
            if (m.getTooltip()) m.setTooltipContent(esc(opts.title));
            else m.bindTooltip(esc(opts.title));
          } else if (m.getTooltip()) {
            m.unbindTooltip();
          }
          if (opts.popupHtml) {
            if (m.getPopup()) m.setPopupContent(opts.popupHtml);
            else m.bindPopup(opts.popupHtml);
          } else if (m.getPopup()) {
            m.unbindPopup();
          }
          return m;
        },
        remove: function (id) {
          const m = byId.get(id);
          if (m) { group.removeLayer(m); byId.delete(id); }
        },
        clear: function () { group.clearLayers(); byId.clear(); },
        fit: function () {
          if (!byId.size) return;
          const pts = [];
          byId.forEach(function (m) { pts.push(m.getLatLng()); });
          map.fitBounds(L.latLngBounds(pts).pad(0.2), { maxZoom: 16 });
        },
      };
    },
  };

  window.CCMap = CCMap;
})();
