// The big screen (一屏展): today's counts by category and by state, the map, open breaches, and today's
// measures of the area (supervision's, the one definition: sign within 30 s, on scene within the ring,
// feedback on time, callbacks…), refreshed live. The map and the breach list follow the
// board's model (GET /api/board/ + pushes); the numbers are recomputed by the server
// (GET /api/board/stats/) shortly after any push that can change them, and every 30 s (a rate moves with
// time alone: an order unsigned for 30 s counts as late).
(function () {
  "use strict";

  const h = CCDom.h;
  const STATUS_ORDER = ["available", "en_route", "on_scene", "busy", "off_duty", "out_of_service"];
  const TOP_COLORS = ["#ef4444", "#3b82f6", "#f59e0b", "#f97316", "#22c55e", "#a78bfa", "#06b6d4", "#eab308", "#64748b", "#94a3b8"];

  function start(root) {
    const L10N = CCLive.readJson("screen-labels");
    const t = L10N.t || {};
    const ds = root.dataset;
    const model = CCBoardModel.create();
    let stats = null;
    let fitted = false;
    const q = function (s) { return root.querySelector(s); };

    const mapEl = q("#wall-map");
    let map = null, incMarkers = null, unitMarkers = null, stations = null;
    if (mapEl && window.CCMap && window.L) {
      map = CCMap.create(mapEl, { center: [parseFloat(mapEl.dataset.lat), parseFloat(mapEl.dataset.lon)], zoom: 12 });
      map.options.zoomSnap = 0.25; // fit the area snugly
      map.options.zoomDelta = 0.5;
      unitMarkers = CCMap.markers(map);
      incMarkers = CCMap.markers(map);
    }
    const drawnInc = new Set(), drawnUnit = new Set();

    function drawMap() {
      if (!map) return;
      const seen = new Set();
      for (const inc of model.incidents.values()) {
        if (inc.lat == null || inc.lon == null) continue;
        seen.add(inc.id);
        const breached = model.urgency(inc)[0] === 0;
        incMarkers.upsert(inc.id, inc.lat, inc.lon, { className: "cc-mk cc-mk-inc l" + inc.level + (breached ? " breached" : ""), title: inc.number + " · " + (inc.category_name || "") + " · " + inc.address });
      }
      for (const id of drawnInc) if (!seen.has(id)) incMarkers.remove(id);
      drawnInc.clear(); seen.forEach(function (id) { drawnInc.add(id); });
      const useen = new Set();
      for (const u of model.units.values()) {
        if (u.lat == null || u.lon == null) continue;
        useen.add(u.id);
        unitMarkers.upsert(u.id, u.lat, u.lon, { className: "cc-mk cc-mk-unit s-" + u.status, title: u.call_sign + " · " + (L10N.unit_status[u.status] || u.status) });
      }
      for (const id of drawnUnit) if (!useen.has(id)) unitMarkers.remove(id);
      drawnUnit.clear(); useen.forEach(function (id) { drawnUnit.add(id); });
      if (!fitted && (seen.size || useen.size)) {
        fitted = true;
        map.invalidateSize(); // the grid may have sized the container after the map was made
        const pts = [];
        incMarkers.layer.eachLayer(function (l) { pts.push(l.getLatLng()); });
        unitMarkers.layer.eachLayer(function (l) { pts.push(l.getLatLng()); });
        map.fitBounds(L.latLngBounds(pts), { padding: [40, 40], maxZoom: 15 });
      }
    }

    function bars(container, rows, colorOf) {
      const max = Math.max(1, ...rows.map(function (r) { return r.count; }));
      container.replaceChildren(...(rows.length ? rows.map(function (r, k) {
        const fill = h("span", { class: "bar-fill" });
        fill.style.width = (100 * r.count / max).toFixed(1) + "%"; // CSSOM, not a style attribute (CSP)
        fill.style.background = colorOf(r, k);
        return h("li", { class: "bar", dataset: { key: r.key } }, [
          h("span", { class: "bar-name", text: r.name }),
          h("span", { class: "bar-track" }, [fill]),
          h("b", { class: "bar-n", text: String(r.count) }),
        ]);
      }) : [h("li", { class: "empty", text: "—" })]));
    }

    function drawStats() {
      if (!stats) return;
      q("[data-kpi=total]").textContent = stats.total;
      q("[data-kpi=open]").textContent = stats.open;
      q("[data-kpi=breaches]").textContent = stats.breaches.open;
      q("[data-kpi=breaches]").closest(".tile").classList.toggle("hot", stats.breaches.open > 0);
      const topIndex = function (code) { return Math.max(0, parseInt(code.slice(0, 2), 10) - 1); };
      bars(q(".by-category"), stats.by_category.map(function (c) { return { key: c.code, name: c.name, count: c.count }; }),
        function (r) { return TOP_COLORS[topIndex(r.key) % TOP_COLORS.length]; });
      bars(q(".by-state"), stats.by_state.map(function (s) { return { key: s.state, name: s.label, count: s.count }; }),
        function () { return "#3b82f6"; });
      drawKpis();
      drawSentiment();
    }

    // Today's 网情 of the area (sentiment's, GET /api/board/stats/ `sentiment`): posts, flagged and
    // negative today, and the top events with their colour and count. Absent when no app contributes it.
    function drawSentiment() {
      const box = q(".wall-sentiment");
      if (!box) return;
      const s = stats && stats.sentiment;
      box.hidden = !s;
      if (!s) return;
      for (const el of box.querySelectorAll("[data-senti]")) {
        const v = s[el.dataset.senti];
        el.textContent = v == null ? "–" : String(v);
      }
      const list = box.querySelector(".ws-events");
      const events = (s.events || []).slice(0, 5);
      list.replaceChildren(...(events.length ? events.map(function (e) {
        return h("li", { class: "ws-event r-" + (e.risk || "none"), dataset: { id: e.id } }, [
          h("i", { class: "ws-dot" }),
          h("span", { class: "ws-title", text: e.title }),
          h("b", { class: "num", text: String(e.posts_n) }),
        ]);
      }) : [h("li", { class: "empty", text: list.dataset.empty })]));
    }

    // Today's measures for the area (supervision's, GET /api/board/stats/ `kpis`): figure, what it counts,
    // and a link to the measure's drill-down. Absent when no app contributes them.
    function fmtKpi(k) {
      if (k.value == null) return "—";
      if (k.unit === "rate") return (k.value * 100).toFixed(1) + "%";
      if (k.unit === "seconds") {
        const s = Math.round(k.value);
        return s < 120 ? s + (t.s || "s") : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      }
      return String(Math.round(k.value));
    }
    function drawKpis() {
      const box = q(".wall-kpis");
      const list = (stats && stats.kpis) || [];
      box.hidden = !list.length;
      q(".wall-kpi-list").replaceChildren(...list.map(function (k) {
        const counted = k.unit === "rate" ? Math.round(k.numerator) + " / " + k.denominator
          : k.unit === "seconds" ? (t.counted || "n") + " " + k.denominator : "";
        return h("li", { class: "wall-kpi", dataset: { key: k.key } }, [
          h("a", { href: k.url, title: k.label }, [
            h("span", { class: "k-label", text: k.label }),
            h("b", { text: fmtKpi(k) }),
            h("small", { text: counted }),
          ]),
        ]);
      }));
    }

    function drawUnits() {
      const counts = {};
      let total = 0;
      for (const u of model.units.values()) { counts[u.status] = (counts[u.status] || 0) + 1; total++; }
      q("[data-kpi=units]").textContent = (counts.available || 0) + " / " + total;
      bars(q(".by-unit"), STATUS_ORDER.filter(function (s) { return counts[s]; }).map(function (s) { return { key: s, name: L10N.unit_status[s] || s, count: counts[s] }; }),
        function (r) { return { available: "#22c55e", en_route: "#f59e0b", on_scene: "#06b6d4", busy: "#a78bfa" }[r.key] || "#64748b"; });
    }

    function drawBreaches() {
      // Breaches, and the loop's reminders and 督办 that stand for a task's breach (they cover it on the board).
      const rows = model.sortedAlerts().filter(function (a) { return ["breach", "reminder", "supervision"].indexOf(a.kind) >= 0; }).slice(0, 14);
      q(".breach-list").replaceChildren(...(rows.length ? rows.map(function (a) {
        return h("li", { class: "breach", dataset: { key: a.key, order: a.order || "" } }, [
          h("time", { text: CCLive.clockTime(a.at) }),
          h("b", { text: a.label || t.breach }),
          a.incident ? h("span", { class: "num", text: a.incident.number.slice(-6) }) : null,
          h("span", { class: "txt", text: (a.org_name ? a.org_name + " · " : "") + (a.text || "") }),
        ]);
      }) : [h("li", { class: "empty", text: t.no_alerts })]));
    }

    function redraw(what) {
      if (what === "all" || what === "incidents") drawMap();
      if (what === "all" || what === "units") { drawUnits(); drawMap(); }
      if (what === "all" || what === "alerts" || what === "incidents") drawBreaches();
    }
    model.listeners.push(redraw);

    async function loadStats() {
      const res = await CCLive.api(ds.statsUrl);
      if (res.ok) { stats = res.data; drawStats(); }
      return res.ok ? res.data : null;
    }
    let statsTimer = 0, lastStats = 0;
    function statsSoon() {
      if (statsTimer) return;
      const wait = Math.max(800, 2000 - (Date.now() - lastStats));
      statsTimer = setTimeout(function () { statsTimer = 0; lastStats = Date.now(); loadStats(); }, wait);
    }

    const live = CCLive.follow({
      status: q(".live-status"),
      t: t,
      load: async function () {
        const [board, st] = await Promise.all([CCLive.api(ds.stateUrl), CCLive.api(ds.statsUrl)]);
        if (!board.ok || !st.ok) return null;
        stats = st.data;
        // Both read the seq before their rows: the lower one is safe for both.
        return Object.assign({}, board.data, { seq: Math.min(board.data.seq, st.data.seq) });
      },
      onState: function (state) { model.load(state); stations = CCLive.drawStations(map, state.orgs || [], stations); drawStats(); },
      onEvent: function (env) {
        const out = model.apply(env);
        if (out.stub) setTimeout(function () { live.reload("gap"); }, 1500);
        if (/^(incident|order|deadlines|repeat|sentiment)\./.test(env.event) || env.event === "unit.updated") statsSoon();
      },
    });

    setInterval(loadStats, 30000);
    setInterval(function () {
      const d = new Date(CCLive.now());
      q(".wall-clock").textContent = CCLive.clockTime(d.toISOString());
      q(".wall-date").textContent = CCFmt.date(d);
    }, 500);
    CCLive.loadCategories(ds.categoriesUrl);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-wall]");
    if (root) start(root);
  });
})();
