// The dispatch board (指挥调度台): the incident queue with live countdowns, the map, the units, the alert
// strip with its sound, and one click from an incident to its recommended units and to dispatch.
// State: GET /api/board/ (CCBoardModel); live: /ws/board/ (CCLive.follow); actions: the dispatch API.
(function () {
  "use strict";

  const h = CCDom.h;

  function start(root) {
    const L10N = CCLive.readJson("screen-labels");
    const t = L10N.t || {};
    const model = CCBoardModel.create();
    const ds = root.dataset;
    const el = {
      queue: root.querySelector(".queue-list"),
      queueCount: root.querySelector(".queue .count"),
      alerts: root.querySelector(".alerts"),
      watch: root.querySelector(".watch-list"),
      watchStrip: root.querySelector(".watch-strip"),
      detail: root.querySelector(".detail-body"),
      units: root.querySelector(".unit-list"),
      unitCounts: root.querySelector(".unit-counts"),
      status: root.querySelector(".live-status"),
      clock: root.querySelector(".wallclock"),
      kpi: function (name) { return root.querySelector("[data-kpi=" + name + "]"); },
    };
    let selected = null; // incident id
    let recs = { id: null, rows: [], origin: null, loading: false, error: "" };
    let message = { text: "", kind: "" };
    let fitted = false;

    // --- Map ----------------------------------------------------------------------------------------------
    const mapEl = root.querySelector("#board-map");
    let map = null, incMarkers = null, unitMarkers = null, stations = null;
    if (mapEl && window.CCMap && window.L) {
      map = CCMap.create(mapEl, { center: [parseFloat(mapEl.dataset.lat), parseFloat(mapEl.dataset.lon)], zoom: 13 });
      map.options.zoomSnap = 0.25; // fit the area snugly
      map.options.zoomDelta = 0.5;
      unitMarkers = CCMap.markers(map);
      incMarkers = CCMap.markers(map);
    }

    function drawMap() {
      if (!map) return;
      const seen = new Set();
      for (const inc of model.incidents.values()) {
        if (inc.lat == null || inc.lon == null) continue;
        seen.add(inc.id);
        const breached = model.isRed(inc);
        const cls = "cc-mk cc-mk-inc l" + inc.level + (breached ? " breached" : "") + (inc.id === selected ? " selected" : "");
        const m = incMarkers.upsert(inc.id, inc.lat, inc.lon, { className: cls, title: inc.number + " · " + (inc.category_name || "") + " · " + inc.address });
        if (m && !m.ccBound) { m.ccBound = true; m.on("click", function () { select(inc.id, true); }); }
      }
      dropMissing(incMarkers, seen);
      const useen = new Set();
      for (const u of model.units.values()) {
        if (u.lat == null || u.lon == null) continue;
        useen.add(u.id);
        unitMarkers.upsert(u.id, u.lat, u.lon, {
          className: "cc-mk cc-mk-unit s-" + u.status,
          title: u.call_sign + " · " + (L10N.unit_status[u.status] || u.status) + " · " + (u.org_name || ""),
        });
      }
      dropMissing(unitMarkers, useen);
      if (!fitted && (incMarkers.layer.getLayers().length || unitMarkers.layer.getLayers().length)) {
        fitted = true;
        map.invalidateSize(); // the grid may have sized the container after the map was made
        const pts = [];
        incMarkers.layer.eachLayer(function (l) { pts.push(l.getLatLng()); });
        unitMarkers.layer.eachLayer(function (l) { pts.push(l.getLatLng()); });
        map.fitBounds(L.latLngBounds(pts), { padding: [36, 36], maxZoom: 15 });
      }
    }
    const markerIds = new WeakMap();
    function dropMissing(set, seen) {
      // CCMap.markers keeps ids privately: remember which ids we drew and drop the ones gone.
      const drawn = markerIds.get(set) || new Set();
      for (const id of drawn) if (!seen.has(id)) set.remove(id);
      markerIds.set(set, seen);
    }

    // --- Queue --------------------------------------------------------------------------------------------
    function orderChip(o, breachedKinds) {
      const kind = { sent: "dispatch.sign", delivered: "dispatch.sign", signed: "dispatch.arrive", arrived: "dispatch.feedback" }[o.state];
      const due = { "dispatch.sign": o.sign_due_at, "dispatch.arrive": o.arrive_due_at, "dispatch.feedback": o.feedback_due_at }[kind];
      const breached = (o.overdue || []).length > 0;
      return h("span", { class: "ord st-" + o.state + (breached ? " breached" : ""), dataset: { order: o.id, overdue: (o.overdue || []).join(" ") } }, [
        h("b", { text: o.unit_call_sign || o.org_name || model.orgName(o.org) }),
        h("span", { class: "ord-state", text: L10N.order_state[o.state] || o.state }),
        kind && due ? h("span", { class: "clk", title: L10N.clock[kind] || kind, dataset: { due: due } }, CCLive.countdown(Date.parse(due) - CCLive.now())) : null,
        breached ? h("span", { class: "flag", text: t.breach }) : null,
      ]);
    }

    function incidentRow(inc) {
      const u = model.urgency(inc);
      const ownClocks = (inc.clocks || []).filter(function (c) { return c.order == null; });
      const dups = inc.duplicates || [];
      return h("li", {
        class: "inc g" + u[0] + (model.isRed(inc) ? " red" : "") + (inc.ended ? " ended" : "") +
          (inc.id === selected ? " selected" : "") + (inc.stub ? " stub" : ""),
        role: "option", "aria-selected": inc.id === selected ? "true" : "false", tabindex: "-1",
        dataset: { id: inc.id, number: inc.number, state: inc.state },
        onclick: function () { select(inc.id, true); },
      }, [
        h("div", { class: "inc-top" }, [
          h("span", { class: "lvl l" + inc.level, title: "L" + inc.level, text: String(inc.level) }),
          h("span", { class: "num", text: inc.number }),
          h("span", { class: "state st-" + inc.state, text: L10N.incident_state[inc.state] || inc.state }),
          h("span", { class: "age", dataset: { age: inc.reported_at }, text: CCLive.age(inc.reported_at) }),
        ]),
        h("div", { class: "inc-mid" }, [
          h("span", { class: "cat", text: inc.category_name || CCLive.categoryName(inc.category) }),
          h("span", { class: "addr", text: inc.address }),
          inc.org_name ? h("span", { class: "org", text: inc.org_name }) : null,
        ]),
        (inc.orders || []).length || ownClocks.length ? h("div", { class: "inc-orders" }, [
          ...(inc.orders || []).filter(function (o) { return o.state !== "cancelled"; }).map(orderChip),
          ...ownClocks.map(function (c) {
            return h("span", { class: "ord own" + (c.breached_at ? " breached" : "") }, [
              h("span", { class: "ord-state", text: CCFmt.clockLabel(c.kind, c.label) }),
              h("span", { class: "clk", dataset: { due: c.due_at } }, CCLive.countdown(Date.parse(c.due_at) - CCLive.now())),
            ]);
          }),
        ]) : null,
        // Linked reports of this incident (重复报警): under it, not rows of their own.
        dups.length ? h("div", { class: "inc-dups", title: t.duplicates }, [
          h("span", { class: "dup-count", text: t.duplicates + " ×" + dups.length }),
          ...dups.map(function (x) { return h("span", { class: "dup", dataset: { id: x.id }, text: x.number.slice(-6) }); }),
        ]) : null,
      ]);
    }

    function drawQueue() {
      const rows = model.queue();
      el.queue.replaceChildren(...(rows.length ? rows.map(incidentRow) : [h("li", { class: "empty", text: t.no_incidents })]));
      el.queueCount.textContent = String(rows.length) + (model.truncated ? "+" : "");
      let waiting = 0, breached = 0, ended = 0;
      for (const r of rows) {
        if (r.ended) { ended++; continue; }
        if (r.state === "received") waiting++;
        if (model.isRed(r)) breached++;
      }
      el.queueCount.textContent = String(rows.length - ended) + (model.truncated ? "+" : "");
      el.kpi("waiting").textContent = waiting;
      el.kpi("active").textContent = rows.length - ended - waiting;
      el.kpi("breached").textContent = breached;
      el.kpi("breached").parentElement.classList.toggle("hot", breached > 0);
    }

    // --- Alerts -------------------------------------------------------------------------------------------
    function loopAlert(a) {
      // 催办 / 督办 (supervision): who must act, on which task, for which clock (or at which 督办 level).
      const label = a.kind === "supervision" ? a.label : ((L10N.task_clock || {})[a.clock] || a.label || "");
      return h("li", {
        class: "alert a-" + a.kind, dataset: { key: a.key, task: a.task || "" }, tabindex: "0",
        title: (a.org_name || "") + " · " + (a.text || ""),
      }, [
        h("time", { text: CCLive.clockTime(a.at) }),
        h("b", { text: a.kind === "supervision" ? t.supervision : t.reminder }),
        label ? h("span", { text: label }) : null,
        a.org_name ? h("span", { class: "who", text: a.org_name }) : null,
        a.text ? h("span", { class: "txt", text: a.text }) : null,
      ]);
    }

    function sentimentAlert(a) {
      // 网情 (sentiment): a watch-list hit or a red/yellow warning of the area, opening its page.
      return h("li", { class: "alert a-sentiment c-" + (a.colour || "yellow"), dataset: { key: a.key }, title: (a.org_name || "") + " · " + (a.text || "") }, [
        h("time", { text: CCLive.clockTime(a.at) }),
        h("b", { text: a.kind === "sentiment_hit" ? t.sentiment_hit : t.sentiment_warning }),
        a.label ? h("span", { text: a.label }) : null,
        a.org_name ? h("span", { class: "who", text: a.org_name }) : null,
        a.url ? h("a", { class: "txt", href: a.url, target: "_blank", rel: "noopener", text: a.text || "" }) : h("span", { class: "txt", text: a.text || "" }),
      ]);
    }

    function drawAlerts() {
      const rows = model.sortedAlerts().slice(0, 40);
      el.alerts.replaceChildren(...(rows.length ? rows.map(function (a) {
        if (a.kind === "reminder" || a.kind === "supervision") return loopAlert(a);
        if (a.kind === "sentiment_hit" || a.kind === "sentiment_warning") return sentimentAlert(a);
        const what = a.kind === "breach" ? (a.label || t.breach) : a.kind === "returned" ? t.returned : t.repeat + (a.count ? " ×" + a.count : "");
        return h("li", {
          class: "alert a-" + a.kind, dataset: { key: a.key, order: a.order || "", incident: a.incident ? a.incident.id : "" },
          tabindex: "0", role: "button",
          onclick: function () { if (a.incident && model.incidents.has(a.incident.id)) select(a.incident.id, true); },
        }, [
          h("time", { text: CCLive.clockTime(a.at) }),
          h("b", { text: a.kind === "breach" ? t.breach : a.kind === "returned" ? t.returned : t.repeat }),
          a.kind === "returned" ? null : h("span", { text: what }),
          a.incident ? h("span", { class: "num", text: a.incident.number.slice(-6) }) : null,
          a.text ? h("span", { class: "txt", text: a.text }) : null,
        ]);
      }) : [h("li", { class: "empty", text: t.no_alerts })]));
    }

    // --- Watch list (盯办) --------------------------------------------------------------------------------
    const TASK_DUE = { issued: "sign_due_at", signed: "report_due_at", in_progress: "report_due_at", returned: "report_due_at" };
    function drawWatch() {
      if (!el.watch) return;
      const rows = Array.from(model.watch.values()).sort(function (a, b) { return b.id - a.id; });
      el.watchStrip.hidden = !rows.length;
      el.watch.replaceChildren(...rows.map(function (w) {
        if (w.task) {
          const tk = w.task;
          const due = tk[TASK_DUE[tk.state]];
          return h("li", { class: "watch w-task c-" + tk.colour, dataset: { id: w.id, task: tk.id, state: tk.state }, title: w.note || "" }, [
            h("i", { class: "wdot" }),
            h("b", { text: tk.title }),
            h("span", { class: "who", text: tk.org_name }),
            h("span", { class: "wstate", text: (L10N.task_state || {})[tk.state] || tk.state }),
            due ? h("span", { class: "clk", dataset: { due: due } }, CCLive.countdown(Date.parse(due) - CCLive.now())) : null,
          ]);
        }
        const inc = w.incident || {};
        return h("li", {
          class: "watch w-incident", dataset: { id: w.id, incident: inc.id, state: inc.state }, tabindex: "0", role: "button", title: w.note || "",
          onclick: function () { if (model.incidents.has(inc.id)) select(inc.id, true); },
        }, [
          h("i", { class: "wdot" }),
          h("b", { class: "num", text: inc.number }),
          h("span", { class: "txt", text: inc.address }),
          h("span", { class: "wstate", text: L10N.incident_state[inc.state] || inc.state }),
        ]);
      }));
    }
    async function fetchWatch() {
      const res = await CCLive.api(((L10N.urls || {}).watch || "/api/watch/") + "?page_size=200");
      if (res.ok) model.setWatch(res.data.results || res.data);
    }

    // --- Units --------------------------------------------------------------------------------------------
    const STATUS_ORDER = ["available", "en_route", "on_scene", "busy", "off_duty", "out_of_service"];
    function drawUnits() {
      const units = Array.from(model.units.values());
      const counts = {};
      for (const u of units) counts[u.status] = (counts[u.status] || 0) + 1;
      el.unitCounts.replaceChildren(...STATUS_ORDER.filter(function (s) { return counts[s]; }).map(function (s) {
        return h("span", { class: "uc s-" + s }, [h("b", { text: String(counts[s]) }), " " + (L10N.unit_status[s] || s)]);
      }));
      units.sort(function (a, b) {
        return STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || String(a.call_sign).localeCompare(String(b.call_sign), "zh");
      });
      el.units.replaceChildren(...units.map(function (u) {
        return h("li", { class: "unit s-" + u.status, dataset: { id: u.id } }, [
          h("span", { class: "dot" }),
          h("b", { text: u.call_sign }),
          h("span", { class: "kind", text: L10N.unit_kind[u.kind] || u.kind }),
          h("span", { class: "org", text: u.org_name || model.orgName(u.org) }),
          h("span", { class: "ring", text: u.ring_minutes + t.min }),
          h("span", { class: "ustate", text: L10N.unit_status[u.status] || u.status }),
        ]);
      }));
      el.kpi("available").textContent = (counts.available || 0) + "/" + units.length;
    }

    // --- Detail, recommendations and dispatch -------------------------------------------------------------
    function fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(1) + " km" : m + " m"; }

    function drawDetail() {
      const inc = selected != null ? model.incidents.get(selected) : null;
      if (!inc) { el.detail.replaceChildren(h("p", { class: "muted pick", text: t.pick_incident })); return; }
      const parts = [];
      parts.push(h("div", { class: "d-head" }, [
        h("span", { class: "lvl l" + inc.level, text: String(inc.level) }),
        h("b", { class: "num", text: inc.number }),
        h("span", { class: "state st-" + inc.state, text: L10N.incident_state[inc.state] || inc.state }),
        h("a", { class: "open", href: CCDom.url(ds.detailUrl, inc.id), target: "_blank", text: t.open_detail + " ↗" }),
      ]));
      parts.push(h("dl", { class: "d-facts" }, [
        h("dt", { text: ds.tCategory }), h("dd", { text: (inc.category || "") + " " + (inc.category_name || "") }),
        h("dt", { text: ds.tAddress }), h("dd", { text: inc.address }),
        inc.org_name ? h("dt", { text: ds.tOrg }) : null, inc.org_name ? h("dd", { text: inc.org_name }) : null,
        h("dt", { text: ds.tReported }), h("dd", {}, [CCLive.clockTime(inc.reported_at) + " · ", h("span", { dataset: { age: inc.reported_at }, text: CCLive.age(inc.reported_at) }), " " + t.ago]),
      ]));
      const orders = (inc.orders || []).filter(function (o) { return o.state !== "cancelled"; });
      if (orders.length) {
        parts.push(h("h3", { text: t.orders }));
        parts.push(h("div", { class: "d-orders" }, orders.map(orderChip)));
      }
      parts.push(h("h3", {}, [t.recommendations, h("span", { class: "keys", text: "1–9 · Shift+1–9" })]));
      if (recs.id !== inc.id || recs.loading) {
        parts.push(h("p", { class: "muted", text: t.syncing }));
      } else if (recs.error) {
        parts.push(h("p", { class: "error-text", text: recs.error }));
      } else if (!recs.rows.length) {
        parts.push(h("p", { class: "muted", text: t.no_recommendations }));
      } else {
        parts.push(h("ol", { class: "recs" }, recs.rows.map(function (r, k) {
          const u = r.unit;
          return h("li", { class: "rec", dataset: { unit: u.id, org: u.org } }, [
            h("span", { class: "rk", text: String(k + 1) }),
            h("div", { class: "rec-main" }, [
              h("div", {}, [h("b", { text: u.call_sign }), h("span", { class: "kind", text: L10N.unit_kind[u.kind] || u.kind })]),
              h("div", { class: "rec-sub" }, [
                h("span", { text: u.org_name }),
                r.no_position ? h("span", { class: "stale no-position", text: t.no_position }) : h("span", { text: fmtDistance(r.distance_m) }),
                r.no_position ? null : h("span", { text: "ETA " + CCLive.countdown(r.eta_s * 1000) }),
                r.no_position ? null : h("span", { class: "ring " + (r.within_ring ? "in" : "out"), text: (r.within_ring ? t.within_ring : t.outside_ring) + " " + u.ring_minutes + t.min }),
                r.stale ? h("span", { class: "stale", text: t.stale }) : null,
              ]),
            ]),
            h("button", { type: "button", class: "go unit-go", title: "(" + (k + 1) + ")", onclick: function () { dispatch(inc.id, { unit: u.id }, u.call_sign); }, text: t.dispatch_unit }),
            h("button", { type: "button", class: "go org-go", title: "(Shift+" + (k + 1) + ")", onclick: function () { dispatch(inc.id, { org: u.org }, u.org_name); }, text: t.dispatch_station }),
          ]);
        })));
      }
      if (message.text) parts.push(h("p", { class: "d-msg " + message.kind, role: "status", text: message.text }));
      el.detail.replaceChildren(...parts);
    }

    async function loadRecs(id, fit) {
      recs = { id: id, rows: [], loading: true, error: "" };
      drawDetail();
      const res = await CCLive.api(CCDom.url(ds.recommendUrl, id) + "?limit=9");
      if (selected !== id) return;
      recs = { id: id, rows: res.ok ? res.data.results : [], origin: res.ok ? res.data.origin : null, loading: false, error: res.ok ? "" : CCLive.errorText(res.data) || String(res.status) };
      drawDetail();
      drawRecLines(fit);
    }

    // Dashed lines from the selected incident to its first recommended units, numbered as in the list.
    let recLayer = null;
    function drawRecLines(fit) {
      if (!map) return;
      if (!recLayer) recLayer = L.layerGroup().addTo(map);
      recLayer.clearLayers();
      const inc = selected != null ? model.incidents.get(selected) : null;
      if (!inc || recs.id !== inc.id || !recs.origin) return;
      const pts = [[recs.origin.lat, recs.origin.lon]];
      recs.rows.slice(0, 3).forEach(function (r, k) {
        const u = r.unit;
        if (u.lat == null || u.lon == null) return;
        pts.push([u.lat, u.lon]);
        L.polyline([[recs.origin.lat, recs.origin.lon], [u.lat, u.lon]], { className: "cc-rec-line", color: "#facc15", opacity: 0.85, weight: 2, dashArray: "5 5", interactive: false }).addTo(recLayer);
        L.marker([u.lat, u.lon], { interactive: false, keyboard: false, icon: L.divIcon({ className: "cc-rec-rank", html: String(k + 1), iconSize: [18, 18], iconAnchor: [-4, 22] }) }).addTo(recLayer);
      });
      // A new selection frames the incident and its first units (a refresh of the list does not move the map).
      if (fit && pts.length > 1) map.fitBounds(L.latLngBounds(pts), { padding: [60, 60], maxZoom: 16, animate: false });
    }

    let busy = false;
    async function dispatch(incidentId, body, name) {
      if (busy) return;
      busy = true;
      for (const b of el.detail.querySelectorAll("button.go")) b.disabled = true;
      const res = await CCLive.api(CCDom.url(ds.dispatchUrl, incidentId), body);
      busy = false;
      message = res.ok ? { text: t.dispatched + " → " + name, kind: "ok" } : { text: t.failed + ": " + CCLive.errorText(res.data), kind: "bad" };
      loadRecs(incidentId);
    }

    function select(id, scroll) {
      if (selected !== id) { message = { text: "", kind: "" }; }
      selected = id;
      drawQueue(); drawMap();
      const inc = model.incidents.get(id);
      if (scroll) {
        const row = el.queue.querySelector('[data-id="' + id + '"]');
        if (row) row.scrollIntoView({ block: "nearest" });
      }
      if (scroll && map && inc && inc.lat != null) map.panTo([inc.lat, inc.lon]);
      loadRecs(id, scroll);
    }

    function move(step) {
      const rows = model.queue();
      if (!rows.length) return;
      const k = rows.findIndex(function (r) { return r.id === selected; });
      const next = rows[Math.max(0, Math.min(rows.length - 1, k < 0 ? 0 : k + step))];
      select(next.id, true);
    }

    // Keys 1–9 dispatch with a 5-second undo (undo.js says why); Enter sends at once, Esc undoes. Clicks on
    // the buttons stay immediate.
    const undo = CCUndo.create({
      parent: root,
      t: t,
      send: function (p) { dispatch(p.incidentId, p.body, p.name); },
      undone: function () { message = { text: t.undone, kind: "" }; drawDetail(); },
    });
    function queueDispatch(incidentId, body, name) {
      const inc = model.incidents.get(incidentId);
      undo.queue({ incidentId: incidentId, body: body, name: name, number: inc ? inc.number : "" });
    }

    document.addEventListener("keydown", function (e) {
      const tag = (e.target && e.target.tagName) || "";
      if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (undo.key(e)) return;
      if (e.key === "ArrowDown" || e.key === "j") { move(1); e.preventDefault(); }
      else if (e.key === "ArrowUp" || e.key === "k") { move(-1); e.preventDefault(); }
      else if (e.key === "m") { CCLive.sound.setMuted(!CCLive.sound.muted); }
      else if (/^Digit[1-9]$/.test(e.code) && selected != null && recs.id === selected) {
        const r = recs.rows[parseInt(e.code.slice(5), 10) - 1];
        if (!r) return;
        e.preventDefault();
        if (e.shiftKey) queueDispatch(selected, { org: r.unit.org }, r.unit.org_name);
        else queueDispatch(selected, { unit: r.unit.id }, r.unit.call_sign);
      }
    });

    // --- Drawing on change --------------------------------------------------------------------------------
    const dirty = new Set();
    let frame = 0;
    function redraw(what) {
      if (what === "all") { dirty.add("incidents"); dirty.add("alerts"); dirty.add("units"); dirty.add("watch"); }
      else dirty.add(what);
      if (frame) return;
      frame = requestAnimationFrame(function () {
        frame = 0;
        if (dirty.has("incidents")) { drawQueue(); drawDetail(); }
        if (dirty.has("alerts")) drawAlerts();
        if (dirty.has("units")) drawUnits();
        if (dirty.has("watch")) drawWatch();
        if (dirty.has("incidents") || dirty.has("units")) drawMap();
        dirty.clear();
      });
    }
    model.listeners.push(redraw);

    let refill = 0;
    let recsLater = 0;
    function apply(env) {
      const out = model.apply(env);
      if (out.stub) { clearTimeout(refill); refill = setTimeout(function () { live.reload("gap"); }, 1500); }
      if (out.watch) fetchWatch();
      if (out.alert) CCLive.sound.play(["breach", "reminder", "supervision"].indexOf(out.alert) >= 0 ? "alert" : "soft");
      else if (out.newIncident && out.newIncident.state === "received") CCLive.sound.play("soft");
      if ((env.event === "unit.updated" || env.event === "units.positions") && selected != null) {
        clearTimeout(recsLater);
        recsLater = setTimeout(function () { if (selected != null && !busy) refreshRecs(selected); }, 1500);
      }
    }
    async function refreshRecs(id) {
      const res = await CCLive.api(CCDom.url(ds.recommendUrl, id) + "?limit=9");
      if (selected === id && res.ok) { recs = { id: id, rows: res.data.results, origin: res.data.origin, loading: false, error: "" }; redraw("incidents"); drawRecLines(); }
    }

    const live = CCLive.follow({
      status: el.status,
      t: t,
      load: async function () {
        const res = await CCLive.api(ds.stateUrl + (model.showEnded ? "?ended=1" : ""));
        return res.ok ? res.data : null;
      },
      onState: function (state) {
        model.load(state);
        stations = CCLive.drawStations(map, state.orgs || [], stations);
        if (selected != null && !model.incidents.has(selected)) selected = null;
        if (selected == null) {
          const first = model.queue()[0];
          if (first) select(first.id, false);
        }
      },
      onEvent: apply,
    });

    // The queue's filter: diverted, merged and closed incidents (today's) after the working queue.
    const endedToggle = root.querySelector(".queue-filter");
    if (endedToggle) {
      endedToggle.addEventListener("click", function () {
        model.showEnded = !model.showEnded;
        endedToggle.setAttribute("aria-pressed", model.showEnded ? "true" : "false");
        live.reload("filter");
      });
    }

    CCLive.soundButton(root.querySelector(".sound-toggle"), t);
    CCLive.loadCategories(ds.categoriesUrl).then(function () { redraw("incidents"); });
    setInterval(function () {
      CCLive.tickCountdowns(root);
      if (el.clock) el.clock.textContent = CCLive.clockTime(new Date(CCLive.now()).toISOString());
    }, 250);
    drawDetail();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-board]");
    if (root) start(root);
  });
})();
