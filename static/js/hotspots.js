// 热点 page (/intel/hotspots/): the map (a heat layer of every cell's count, the flagged cells drawn in
// their colour, or the flagged jurisdictions as markers), the ranked list beside it, filters (period and
// date, category, area kind), the incidents behind one hotspot, and 研判.
//
// - GET /api/hotspots/?org&period&at|start&end&area&category → {rows, heat, colours, …}; every filter change
//   asks again. A row: {area, key, count, mean, sd, z, colour, why, weeks, centre, bounds, org_name,
//   hotspot, analyses}.
// - GET /api/hotspots/incidents/?…&key= → the incidents behind it, each linking to its page.
// - 研判: POST /api/hotspots/analyse/ {…filters, key} → {url}: the workspace opens on the new analysis, where
//   the directive is issued.
// Load after vendor/leaflet, vendor/leaflet-heat and map.js. No inline code or styles (CSP).
(function () {
  "use strict";

  const h = CCDom.h;
  const root = document.querySelector("[data-hotspots]");
  if (!root) return;
  const labels = CCDom.readJson("hotspot-labels");
  const t = labels.t || {};
  const initial = CCDom.readJson("hotspot-initial");
  const form = root.querySelector(".hs-filters");
  const list = root.querySelector(".hs-rows");
  const summary = root.querySelector(".hs-summary");
  const drill = root.querySelector(".hs-drill");
  const canAnalyse = root.dataset.canAnalyse === "1";
  let range = null;  // {start, end} when the page opened on a kept hotspot's window
  let focus = initial.key != null ? Number(initial.key) : null;

  const mapEl = document.getElementById("hotspot-map");
  const lat = parseFloat(mapEl.dataset.lat), lon = parseFloat(mapEl.dataset.lon);
  const map = CCMap.create(mapEl, { center: isFinite(lat) && isFinite(lon) ? [lat, lon] : null, zoom: 12 });
  const heat = L.heatLayer([], { radius: 28, blur: 20, minOpacity: 0.25 }).addTo(map);
  const shapes = L.layerGroup().addTo(map);
  let fitted = false;

  function today() {
    const d = new Date();
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  function fill() {
    form.elements.period.value = initial.period || "day";
    form.elements.area.value = initial.area || "cell";
    form.elements.category.value = initial.category || "";
    form.elements.at.value = initial.start || today();
    if (initial.start && initial.end) range = { start: initial.start, end: initial.end };
  }

  function query(extra) {
    const p = new URLSearchParams();
    if (initial.org) p.set("org", initial.org);
    p.set("area", form.elements.area.value);
    if (form.elements.category.value) p.set("category", form.elements.category.value);
    if (range) {
      p.set("start", range.start);
      p.set("end", range.end);
    } else {
      p.set("period", form.elements.period.value);
      if (form.elements.at.value) p.set("at", form.elements.at.value);
    }
    for (const k of Object.keys(extra || {})) p.set(k, extra[k]);
    return p;
  }

  function round1(x) { return (Math.round(x * 10) / 10).toFixed(1); }

  function chip(colour) {
    return colour ? h("span", { class: "colour-chip c-" + colour, text: (labels.colour || {})[colour] || colour }) : null;
  }

  function where(row) {
    return row.area === "station" ? row.org_name : (row.org_name ? row.org_name + " · " : "") + row.centre[0].toFixed(4) + ", " + row.centre[1].toFixed(4);
  }

  function drawMap(data) {
    heat.setLatLngs(data.heat.map(function (x) { return [x[0], x[1], x[2]]; }));
    const max = data.heat.reduce(function (m, x) { return Math.max(m, x[2]); }, 1);
    heat.setOptions({ max: max });
    shapes.clearLayers();
    const bounds = [];
    for (const row of data.rows) {
      let shape = null;
      if (row.bounds) {
        const b = [[row.bounds[0], row.bounds[1]], [row.bounds[2], row.bounds[3]]];
        shape = L.rectangle(b, { className: "hs-cell hs-" + row.colour, weight: 2 });
        bounds.push(b[0], b[1]);
      }
      if (shape) {
        shape.bindTooltip(CCMap.escape(row.why), { sticky: true });
        shape.on("click", function () { open(row); });
        shapes.addLayer(shape);
      }
    }
    if (bounds.length && !fitted) {
      map.fitBounds(bounds, { maxZoom: 15, padding: [30, 30], animate: false });
      fitted = true;
    }
  }

  function drawList(data) {
    list.replaceChildren();
    root.querySelector('[data-n="rows"]').textContent = String(data.rows.length);
    summary.textContent = data.category_name + " · " + data.period_words + " · " + data.rule_words;
    if (!data.rows.length) {
      list.appendChild(h("li", { class: "muted", text: t.none }));
      return;
    }
    data.rows.forEach(function (row, i) {
      const made = (row.analyses || []).map(function (a) { return h("a", { href: a.url, class: "hs-made", text: a.title }); });
      const li = h("li", { class: "hs-row c-" + row.colour, dataset: { key: String(row.key) } }, [
        h("div", { class: "hs-row-head" }, [
          h("span", { class: "hs-rank", text: String(i + 1) }),
          chip(row.colour),
          h("span", { class: "hs-where", text: where(row) }),
          h("span", { class: "hs-count", title: t.count, text: String(row.count) }),
        ]),
        h("p", { class: "hs-why", text: row.why }),
        h("div", { class: "hs-actions" }, [
          h("button", { type: "button", class: "hs-open", text: t.incidents, onclick: function () { open(row); } }),
          canAnalyse ? h("button", { type: "button", class: "primary hs-analyse", text: t.analyse, onclick: function (e) { analyse(row, e.currentTarget); } }) : null,
          row.cap ? h("a", { href: row.cap, class: "hs-cap", download: "hotspot-" + row.hotspot + ".xml", text: t.cap }) : null,
        ]),
        made.length ? h("p", { class: "small hs-made-list" }, [t.analysed + "：", ...made]) : null,
      ]);
      list.appendChild(li);
    });
  }

  let asked = 0;  // the latest load: an earlier answer arriving late is dropped, never drawn over it

  async function load() {
    const mine = ++asked;
    summary.textContent = t.loading;
    const res = await CCDom.api(root.dataset.listUrl + "?" + query().toString());
    if (mine !== asked) return;
    if (!res.ok) {
      summary.textContent = t.failed + " " + CCDom.errorText(res.data);
      return;
    }
    drawList(res.data);
    drawMap(res.data);
    if (focus != null) {
      const row = res.data.rows.find(function (r) { return r.key === focus; });
      focus = null;
      if (row) open(row);
    }
  }

  async function open(row) {
    drill.hidden = false;
    drill.querySelector(".hs-drill-why").textContent = where(row) + " — " + row.why;
    const ol = drill.querySelector(".hs-incidents");
    ol.replaceChildren(h("li", { class: "muted", text: t.loading }));
    for (const li of list.querySelectorAll(".hs-row")) li.classList.toggle("selected", li.dataset.key === String(row.key));
    if (row.centre) map.panTo(row.centre);
    const res = await CCDom.api(root.dataset.incidentsUrl + "?" + query({ key: row.key }).toString());
    ol.replaceChildren();
    if (!res.ok) {
      ol.appendChild(h("li", { class: "muted", text: t.failed }));
      return;
    }
    for (const i of res.data.incidents) {
      ol.appendChild(h("li", { class: "hs-incident" }, [
        h("a", { href: i.url, text: i.number }),
        h("span", { class: "small muted", text: " " + new Date(i.reported_at).toLocaleString() + " · " + i.category_name + " · " + i.address }),
      ]));
    }
    if (row.count > res.data.incidents.length) ol.appendChild(h("li", { class: "muted", text: (row.count - res.data.incidents.length) + " " + t.more }));
  }

  async function analyse(row, button) {
    button.disabled = true;
    const body = {};
    for (const [k, v] of query()) body[k] = k === "org" ? Number(v) : v;
    body.key = row.key;
    const res = await CCDom.api(root.dataset.analyseUrl, body, "POST");
    if (res.ok && res.data.url) {
      window.location.assign(res.data.url);
      return;
    }
    button.disabled = false;
    summary.textContent = t.failed + " " + CCDom.errorText(res.data);
  }

  form.addEventListener("change", function () {
    range = null;  // a filter asked: the period of the filters, not the kept hotspot's window
    fitted = false;
    drill.hidden = true;
    load();
  });
  drill.querySelector(".hs-drill-close").addEventListener("click", function () { drill.hidden = true; });
  fill();
  load();
})();
