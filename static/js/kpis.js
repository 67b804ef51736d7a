// 考评指标: the measures of an area and a period (GET /api/kpis/), each beside the previous period and last
// year's, coloured by which way is better; a click on one shows its formula, a day-by-day trend (ECharts),
// the ranking of the orgs under the area and the rows it counts, each linking to its page. The scope lives
// in the address (?org=&period=&date=&category=), so a figure can be sent to a colleague as a link.
(function () {
  "use strict";
  const root = document.querySelector("[data-kpis]");
  if (!root) return;
  const D = window.CCDom;
  const h = D.h;
  const L = D.readJson("kpi-labels");
  const t = L.t || {};
  const ds = root.dataset;
  const form = root.querySelector(".kpi-scope");
  const el = {
    body: root.querySelector(".kpi-table tbody"),
    period: root.querySelector(".kpi-period"),
    title: root.querySelector(".kpi-detail-title"),
    formula: root.querySelector(".kpi-formula"),
    trend: root.querySelector(".kpi-trend"),
    ranking: root.querySelector(".kpi-ranking"),
    rows: root.querySelector(".kpi-rows"),
    export: root.querySelector(".kpi-export"),
    missed: root.querySelector(".kpi-missed"),
    breakdown: root.querySelector(".kpi-breakdown"),
  };
  let chart = null;
  let picked = new URLSearchParams(window.location.search).get("kpi") || "";
  let kpis = [];

  // --- The scope -------------------------------------------------------------------------------------------
  function fromAddress() {
    const q = new URLSearchParams(window.location.search);
    for (const name of ["org", "period", "date", "category"]) {
      const v = q.get(name);
      if (v !== null && form.elements.namedItem(name)) form.elements.namedItem(name).value = v;
    }
  }
  function query() {
    const q = new URLSearchParams();
    for (const name of ["org", "period", "date", "category"]) {
      const v = form.elements.namedItem(name).value;
      if (v) q.set(name, v);
    }
    return q;
  }
  function keyUrl(template, key) { return template.replace("KEY", encodeURIComponent(key)); }

  // --- Figures ---------------------------------------------------------------------------------------------
  function fmt(k, v) {
    if (v == null) return "—";
    if (k.unit === "rate") return (v * 100).toFixed(1) + " %";
    if (k.unit === "seconds") {
      const s = Math.round(v);
      return s < 120 ? s + " " + (t.s || "s") : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }
    return String(Math.round(v));
  }
  // Better or worse than the previous period, by the measure's direction.
  function trendClass(k) {
    const now = k.value, before = k.previous.value;
    if (now == null || before == null || now === before) return "";
    const up = now > before;
    return (k.better === "higher") === up ? "better" : "worse";
  }

  function draw() {
    const rows = [];
    let group = "";
    for (const k of kpis) {
      if (k.group !== group) {
        group = k.group;
        rows.push(h("tr", { class: "kpi-group" }, [h("td", { colspan: "5", text: (L.groups || {})[group] || group })]));
      }
      const cls = trendClass(k);
      rows.push(h("tr", {
        class: "kpi-row" + (k.key === picked ? " on" : ""), tabindex: "0", dataset: { key: k.key },
        onclick: function () { pick(k.key); },
        onkeydown: function (e) { if (e.key === "Enter") pick(k.key); },
      }, [
        h("td", { text: k.label }),
        h("td", { class: "num " + cls, text: fmt(k, k.value), title: cls ? t[cls] : null }),
        h("td", { class: "num muted", text: fmt(k, k.previous.value) }),
        h("td", { class: "num muted", text: fmt(k, k.last_year.value) }),
        h("td", { class: "num muted", text: String(k.denominator) }),
      ]));
    }
    el.body.replaceChildren(...rows);
  }

  async function load() {
    const q = query();
    history.replaceState(null, "", "?" + q.toString() + (picked ? "&kpi=" + encodeURIComponent(picked) : ""));
    el.export.href = ds.exportUrl + "?" + q.toString();
    const res = await D.api(ds.kpisUrl + "?" + q.toString());
    if (!res.ok) { el.period.textContent = (t.failed || "") + ": " + D.errorText(res.data); kpis = []; draw(); return; }
    const b = res.data;
    el.period.textContent = b.scope.org_name + " · " + b.scope.first + " – " + b.scope.last +
      " · " + (t.previous || "") + " " + b.previous.first + " – " + b.previous.last +
      " · " + (t.last_year || "") + " " + b.last_year.first + " – " + b.last_year.last;
    kpis = b.kpis;
    draw();
    if (picked) pick(picked);
  }

  // --- One measure: formula, trend, ranking, rows --------------------------------------------------------------
  async function pick(key) {
    const k = kpis.find(function (x) { return x.key === key; });
    if (!k) return;
    picked = key;
    for (const tr of el.body.querySelectorAll(".kpi-row")) tr.classList.toggle("on", tr.dataset.key === key);
    history.replaceState(null, "", "?" + query().toString() + "&kpi=" + encodeURIComponent(key));
    el.title.textContent = k.label + " · " + fmt(k, k.value);
    el.formula.textContent = k.formula;
    const q = "?" + query().toString();
    // A rate's drill-down starts at what went wrong (the late orders, the overdue feedback); the box shows all.
    el.missed.closest("label").hidden = !k.missed;
    const only = k.missed && el.missed.checked ? "&missed=1" : "";
    const [trend, ranking, rows] = await Promise.all([
      D.api(keyUrl(ds.trendUrl, key) + q), D.api(keyUrl(ds.rankingUrl, key) + q), D.api(keyUrl(ds.rowsUrl, key) + q + only),
    ]);
    if (picked !== key) return; // another was picked meanwhile
    drawBreakdowns(k, q);
    drawTrend(k, trend.ok ? trend.data : []);
    el.ranking.replaceChildren(...(ranking.ok ? ranking.data : []).map(function (r) {
      return h("li", { dataset: { org: r.org } }, [h("span", { text: r.org_name + " " }), h("b", { text: fmt(k, r.value) }),
        h("span", { class: "muted", text: " (" + r.denominator + ")" })]);
    }));
    const list = rows.ok ? D.results(rows.data) : [];
    el.rows.replaceChildren(...(list.length ? list.map(function (r) {
      return h("li", { dataset: { id: r.id } }, [r.url ? h("a", { href: r.url, text: r.title }) : h("b", { text: r.title }),
        r.detail ? h("span", { class: "muted", text: " " + r.detail }) : null,
        r.org_name ? h("span", { class: "muted", text: " · " + r.org_name }) : null,
        ...(r.overdue || []).map(overdueLine)]);
    }) : [h("li", { class: "muted", text: t.none || "" })]));
  }

  // Besides the orgs: a diversions' measure per partner, a ledger's per kind and theme of cluster.
  async function drawBreakdowns(k, q) {
    const parts = await Promise.all((k.breakdown || []).map(function (by) {
      return D.api(keyUrl(ds.breakdownUrl, k.key) + q + "&by=" + by).then(function (res) { return [by, res]; });
    }));
    if (picked !== k.key) return;
    el.breakdown.replaceChildren(...parts.map(function (p) {
      const rows = p[1].ok ? p[1].data : [];
      return h("section", { class: "kpi-by", dataset: { by: p[0] } }, [
        h("h3", { text: (L.by || {})[p[0]] || p[0] }),
        h("ol", {}, rows.length ? rows.map(function (r) {
          return h("li", {}, [h("span", { text: r.name + " " }), h("b", { text: fmt(k, r.value) }),
            h("span", { class: "muted", text: " (" + Math.round(r.numerator) + " / " + r.denominator + ")" })]);
        }) : [h("li", { class: "muted", text: t.none || "" })]),
      ]);
    }));
  }

  // A broken clock of the row: its name and the supervisor's 催办 / 督办 by hand (what was raised already shows).
  function handUrl(id, what) { return L.hand_url.replace("/0/remind/", "/" + id + "/" + what + "/"); }
  function overdueLine(c) {
    const acts = [];
    if (L.can_hand && !c.reminded && !c.supervised) acts.push({ label: t.remind, url: handUrl(c.id, "remind"), cls: "od-remind" });
    if (L.can_hand && !c.supervised) acts.push({ label: t.supervise, url: handUrl(c.id, "supervise"), cls: "od-supervise" });
    return h("div", { class: "kpi-overdue", dataset: { clock: c.id } }, [
      h("span", { class: "flag", text: c.label }),
      c.supervised ? h("span", { class: "tag", text: t.supervised }) : c.reminded ? h("span", { class: "tag", text: t.reminded }) : null,
      acts.length ? D.noteActions(acts, { note: t.hand_note, send: t.hand_send, done: t.hand_done, failed: t.failed }) : null,
    ]);
  }

  function drawTrend(k, points) {
    if (!window.echarts) return;
    if (!chart) chart = window.echarts.init(el.trend) // canvas: its styles go through the CSSOM, which the strict CSP allows;
    const scale = k.unit === "rate" ? 100 : 1;
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: points.map(function (p) { return p.day.slice(5); }) },
      yAxis: { type: "value", axisLabel: { formatter: k.unit === "rate" ? "{value} %" : "{value}" } },
      series: [{
        type: "line", name: k.label, connectNulls: false, showSymbol: points.length < 40,
        data: points.map(function (p) { return p.value == null ? null : Math.round(p.value * scale * 10) / 10; }),
      }],
    }, true);
    el.trend.setAttribute("aria-label", k.label);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  el.missed.addEventListener("change", function () { if (picked) pick(picked); });
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
  fromAddress();
  load();
})();
