// CCBoardModel: the dispatch board's data (incidents with their orders and clocks, units, alerts), loaded
// from GET /api/board/ and kept current by the pushes of /ws/board/. Shared by the board and the big
// screen. Pure data: the pages draw it. Load after live.js.
//
// The rules mirror dispatch/board.py, so a reload and a stream of pushes give the same picture:
// - an order's running clock follows its state: sent/delivered → sign, signed → arrive, arrived → report
//   back; `overdue` lists its clocks that broke and are not met yet (order.overdue, deadlines.breached);
// - the queue's order is not written here: the page carries it as data (#board-urgency, dispatch/board.py
//   URGENCY, by which the server ranks the rows it sends), and `urgency` reads it; its first `red` tiers
//   are drawn red (`isRed`): a call whose dispatch clock broke, then any other broken clock;
// - the working queue leaves out diverted, merged and closed incidents; with the filter on (`showEnded`,
//   GET /api/board/?ended=1) they stay, marked `ended`, after every working row; a linked duplicate
//   (`master` in its push, `duplicates` in REST) is no row of its own but rides under its master;
// - the dispatch clock (incidents.dispatch) runs only while the call waits (received);
// - alerts are keyed `breach:<deadline>`, `returned:<order>`, `repeat:<cluster>`; a breach leaves the
//   strip when its clock is met (the order moved past it);
// - the loop's alerts (supervision): `reminder:<id>` (催办) and `supervision:<id>` (督办), each `covers`
//   the deadline it is about, whose bare breach alert it replaces; they leave when the task moves past the
//   clock (signed, reported, approved, withdrawn);
// - the watch list (盯办): watched tasks and incidents until they close.
(function () {
  "use strict";

  const OPEN_STATES = ["received", "dispatched", "responding", "on_scene", "scene_cleared", "self_handled", "diverted"];
  const LIVE_ORDER = ["sent", "delivered", "signed", "arrived"];
  const WORKING_STATES = OPEN_STATES.filter(function (s) { return s !== "diverted"; });
  const DISPATCH_CLOCK = "incidents.dispatch";
  const ORDER_CLOCK = { sent: "dispatch.sign", delivered: "dispatch.sign", signed: "dispatch.arrive", arrived: "dispatch.feedback" };
  const CLOCK_DUE = { "dispatch.sign": "sign_due_at", "dispatch.arrive": "arrive_due_at", "dispatch.feedback": "feedback_due_at" };
  // A clock is met (or gone) once the order is past the states that keep it running.
  const CLOCK_RUNS_IN = {
    "dispatch.sign": ["sent", "delivered"],
    "dispatch.arrive": ["signed"],
    "dispatch.feedback": ["arrived"],
  };

  // The loop's task clocks, and the task states in which each still runs (a reminder about it stays).
  const TASK_CLOCK_RUNS_IN = {
    "intel.task.sign": ["issued"],
    "intel.task.report": ["signed", "in_progress", "returned"],
  };
  const TASK_OPEN = ["issued", "signed", "in_progress", "reported", "returned"];
  // A station's act meets the escalation clock that a reminder started.
  const TASK_ACTS = ["task.signed", "task.started", "task.reported", "task.approved", "task.withdrawn"];

  // The queue's tiers and tie-breaks, from the page (dispatch/board.py URGENCY).
  function readUrgency() {
    const u = CCLive.readJson("board-urgency");
    return { tiers: u.tiers || [], then: u.then || [], red: u.red || 0 };
  }

  function create() {
    const URGENCY = readUrgency();
    const urls = CCLive.readJson("screen-labels").urls || {};  // the pages 网情 alerts link to
    const m = {
      incidents: new Map(),
      units: new Map(),
      orgs: new Map(),
      alerts: new Map(),
      covered: new Set(), // deadline ids whose breach a reminder or a 督办 stands for
      watch: new Map(),
      truncated: false,
      showEnded: false, // the queue's filter: diverted, merged and closed incidents too
      listeners: [],
    };

    function changed(what, detail) { for (const fn of m.listeners) fn(what, detail); }

    function fresh(old, row) { return !old || old.version == null || row.version == null || row.version >= old.version; }

    function orgName(id) { const o = m.orgs.get(id); return o ? o.name : ""; }

    m.load = function (state) {
      m.incidents.clear(); m.units.clear(); m.orgs.clear(); m.alerts.clear();
      for (const o of state.orgs || []) m.orgs.set(o.id, o);
      for (const u of state.units || []) { u.org_name = orgName(u.org); m.units.set(u.id, u); }
      for (const i of state.incidents || []) {
        i.clocks = (i.clocks || []).filter(function (c) { return c.order == null; }); // orders' clocks are derived
        m.incidents.set(i.id, i);
      }
      m.covered.clear();
      for (const a of state.alerts || []) { m.alerts.set(a.key, a); if (a.covers) m.covered.add(a.covers); }
      m.watch.clear();
      for (const w of state.watch || []) m.watch.set(w.id, w);
      m.truncated = !!state.truncated;
      changed("all");
    };

    // The running clocks of an incident: its own (from REST) and its live orders'.
    m.clocksOf = function (inc) {
      // Copies: `breached` is worked out on each call, never left on the row's clock (a later breach sets
      // its breached_at, which must show).
      const out = (inc.clocks || []).map(function (c) { return Object.assign({}, c, { breached: !!c.breached_at }); });
      for (const o of inc.orders || []) {
        const kind = ORDER_CLOCK[o.state];
        if (kind && o[CLOCK_DUE[kind]]) {
          out.push({ kind: kind, order: o.id, due_at: o[CLOCK_DUE[kind]], breached: (o.overdue || []).indexOf(kind) >= 0 });
        }
        // A broken clock that the state has moved past is met; one still listed is shown as broken.
        for (const k of o.overdue || []) {
          if (k !== kind && CLOCK_RUNS_IN[k] && CLOCK_RUNS_IN[k].indexOf(o.state) >= 0) {
            out.push({ kind: k, order: o.id, due_at: o[CLOCK_DUE[k]], breached: true });
          }
        }
      }
      for (const c of out) if (c.breached == null) c.breached = !!c.breached_at;
      return out;
    };

    // [tier, ...the fields of `then`]: the first tier that holds for the row (any of its tests), or after
    // them all; times (ISO text) compare as instants.
    m.urgency = function (inc) {
      const cs = m.clocksOf(inc);
      function holds(tier) {
        return (tier.clock === "breached" && cs.some(function (c) { return c.breached && (!tier.kind || c.kind === tier.kind); })) ||
          (tier.clock === "running" && cs.some(function (c) { return !tier.kind || c.kind === tier.kind; })) ||
          (tier.state || []).indexOf(inc.state) >= 0;
      }
      let tier = URGENCY.tiers.findIndex(holds);
      if (tier < 0) tier = URGENCY.tiers.length;
      if (inc.ended) tier = URGENCY.tiers.length + 1;
      return [tier].concat(URGENCY.then.map(function (f) {
        const v = inc[f];
        return typeof v === "string" ? (Date.parse(v) || 0) : v;
      }));
    };

    m.isRed = function (inc) { return m.urgency(inc)[0] < URGENCY.red; };

    m.queue = function () {
      const rows = Array.from(m.incidents.values());
      const keys = new Map(rows.map(function (r) { return [r.id, m.urgency(r)]; }));
      rows.sort(function (a, b) {
        const ka = keys.get(a.id), kb = keys.get(b.id);
        for (let i = 0; i < ka.length; i++) {
          if (ka[i] < kb[i]) return -1;
          if (ka[i] > kb[i]) return 1;
        }
        return a.id - b.id;
      });
      return rows;
    };

    // A report linked to a master (its push names `master`): listed under the master, not as a row of its
    // own; the master's row leaves the queue with it. False when the master is not on the board.
    function linkUnder(d) {
      const master = m.incidents.get(d.master);
      if (!master) { if (m.incidents.delete(d.id)) changed("incidents"); return true; }
      const dups = (master.duplicates = (master.duplicates || []).filter(function (x) { return x.id !== d.id; }));
      dups.push({ id: d.id, number: d.number, state: d.state, version: d.version, link_type: d.link_type || "", reported_at: d.reported_at });
      m.incidents.delete(d.id);
      changed("incidents");
      return true;
    }

    function stubIncident(brief, at) {
      return {
        id: brief.id, number: brief.number, state: "dispatched", version: null, category: brief.category,
        category_name: CCLive.categoryName(brief.category), level: brief.level, address: brief.address,
        lat: brief.lat, lon: brief.lon, org: null, org_name: "", reported_at: at, clocks: [], orders: [], stub: true,
      };
    }

    function upsertOrder(o, at) {
      let inc = m.incidents.get(o.incident.id);
      let stub = false;
      if (!inc) {
        if (LIVE_ORDER.indexOf(o.state) < 0) return { stub: false };
        inc = stubIncident(o.incident, o.sent_at || at);
        m.incidents.set(inc.id, inc);
        stub = true;
      }
      const list = inc.orders || (inc.orders = []);
      const k = list.findIndex(function (x) { return x.id === o.id; });
      const old = k >= 0 ? list[k] : null;
      if (!fresh(old, o)) return { stub: stub, inc: inc };
      const row = Object.assign({}, old || {}, o);
      row.org_name = row.org_name || orgName(o.org);
      // Broken clocks stay listed until the order moves past them (met late).
      row.overdue = ((old && old.overdue) || o.overdue || []).filter(function (kind) {
        return CLOCK_RUNS_IN[kind] && CLOCK_RUNS_IN[kind].indexOf(row.state) >= 0;
      });
      if (row.state === "cancelled") { if (k >= 0) list.splice(k, 1); }
      else if (k >= 0) list[k] = row;
      else list.push(row);
      // Breach alerts of clocks this order has now met leave the strip.
      for (const a of Array.from(m.alerts.values())) {
        if (a.kind === "breach" && a.order === o.id && CLOCK_RUNS_IN[a.clock] && CLOCK_RUNS_IN[a.clock].indexOf(row.state) < 0) {
          m.alerts.delete(a.key);
        }
      }
      return { stub: stub, inc: inc, order: row, isNew: !old };
    }

    function markOverdue(orderId, kind) {
      for (const inc of m.incidents.values()) {
        for (const o of inc.orders || []) {
          if (o.id === orderId) {
            o.overdue = o.overdue || [];
            if (o.overdue.indexOf(kind) < 0 && CLOCK_RUNS_IN[kind] && CLOCK_RUNS_IN[kind].indexOf(o.state) >= 0) o.overdue.push(kind);
            return { inc: inc, order: o };
          }
        }
      }
      return null;
    }

    function addAlert(a) {
      if (a.kind === "breach" && m.covered.has(parseInt(a.key.slice(7), 10))) return false;
      const old = m.alerts.get(a.key);
      m.alerts.set(a.key, Object.assign({}, old || {}, a, old ? { text: a.text || old.text, incident: a.incident || old.incident } : {}));
      return !old;
    }

    // apply(envelope) -> {stub: true when an order came for an unknown incident (reload to fill it in),
    //                     alert: kind of a new alert, newIncident, newOrder}
    function cover(deadlineId) {
      m.covered.add(deadlineId);
      m.alerts.delete("breach:" + deadlineId);
    }

    // A task moved: its reminders and 督办 whose clock no longer runs leave the strip; its watch row follows.
    function taskMoved(ev, d) {
      let changedAlerts = false;
      for (const a of Array.from(m.alerts.values())) {
        if ((a.kind !== "reminder" && a.kind !== "supervision") || a.task !== d.id) continue;
        const runs = TASK_CLOCK_RUNS_IN[a.clock];
        const gone = TASK_OPEN.indexOf(d.state) < 0 || (runs ? runs.indexOf(d.state) < 0 : TASK_ACTS.indexOf(ev) >= 0);
        if (gone) { m.alerts.delete(a.key); changedAlerts = true; }
      }
      let changedWatch = false;
      for (const w of Array.from(m.watch.values())) {
        if (!w.task || w.task.id !== d.id) continue;
        if (w.task.version != null && d.version != null && d.version < w.task.version) continue;
        if (TASK_OPEN.indexOf(d.state) < 0) m.watch.delete(w.id);
        else w.task = Object.assign({}, w.task, { state: d.state, version: d.version, sign_due_at: d.sign_due_at, report_due_at: d.report_due_at, title: d.title, colour: d.colour });
        changedWatch = true;
      }
      if (changedAlerts) changed("alerts");
      if (changedWatch) changed("watch");
    }

    m.apply = function (env) {
      const d = env.data || {};
      const out = {};
      const ev = env.event;
      if (ev === "incident.updated") {
        for (const w of Array.from(m.watch.values())) {
          if (!w.incident || w.incident.id !== d.id) continue;
          if (OPEN_STATES.indexOf(d.state) < 0) m.watch.delete(w.id);
          else w.incident = Object.assign({}, w.incident, { state: d.state });
          changed("watch");
        }
      }
      if (ev === "incident.created" || ev === "incident.updated") {
        const old = m.incidents.get(d.id);
        if (!fresh(old, d)) return out;
        if (d.master != null && linkUnder(d)) return out;
        for (const host of m.incidents.values()) {
          const dup = (host.duplicates || []).find(function (x) { return x.id === d.id; });
          if (dup) { Object.assign(dup, { state: d.state, version: d.version }); changed("incidents"); return out; }
        }
        let ended = false;
        if (WORKING_STATES.indexOf(d.state) < 0) {
          const live = old && (old.orders || []).some(function (o) { return LIVE_ORDER.indexOf(o.state) >= 0; });
          ended = !live;
          if (ended && !m.showEnded) { m.incidents.delete(d.id); changed("incidents"); return out; }
        }
        const row = Object.assign({ clocks: [], orders: [], duplicates: [] }, old || {}, d);
        row.ended = ended;
        // Past `received` the first order met the dispatch clock — unless the push brings the clocks (a call
        // waiting again after its last order was called off, a correction's re-timed clocks).
        if (d.state !== "received" && !d.clocks) row.clocks = row.clocks.filter(function (c) { return c.kind !== DISPATCH_CLOCK; });
        row.stub = false;
        row.category_name = (old && old.category === d.category && old.category_name) || CCLive.categoryName(d.category);
        row.org_name = orgName(d.org) || (old && old.org_name) || "";
        if (["closed", "merged", "invalid"].indexOf(d.state) >= 0) row.clocks = [];
        m.incidents.set(d.id, row);
        if (!old && ev === "incident.created") out.newIncident = row;
        changed("incidents");
      } else if (ev.indexOf("order.") === 0 && ev !== "order.overdue") {
        const r = upsertOrder(d, env.at);
        out.stub = r.stub;
        if (r.isNew && ev === "order.sent") out.newOrder = r.order;
        if (ev === "order.returned") {
          if (addAlert({
            key: "returned:" + d.id, kind: "returned", at: env.at, order: d.id,
            incident: { id: d.incident.id, number: d.incident.number }, text: d.unit_call_sign || orgName(d.org),
          })) out.alert = "returned";
        }
        changed("incidents");
        if (ev === "order.returned") changed("alerts");
      } else if (ev === "order.overdue") {
        const r = upsertOrder(d.order, env.at);
        out.stub = r.stub;
        markOverdue(d.order.id, d.clock);
        if (addAlert({
          key: "breach:" + d.deadline, kind: "breach", at: d.breached_at || env.at, clock: d.clock, label: CCFmt.clockLabel(d.clock, d.label),
          due_at: d.due_at, order: d.order.id, incident: { id: d.order.incident.id, number: d.order.incident.number },
          text: d.order.unit_call_sign || orgName(d.order.org),
        })) out.alert = "breach";
        changed("incidents"); changed("alerts");
      } else if (ev === "deadlines.breached") {
        for (const dl of d.deadlines || []) {
          const a = { key: "breach:" + dl.id, kind: "breach", at: dl.breached_at || env.at, clock: dl.kind, label: CCFmt.clockLabel(dl.kind, dl.label), due_at: dl.due_at, text: orgName(dl.org) };
          if (dl.subject && dl.subject.type === "dispatch.dispatchorder") {
            const found = markOverdue(dl.subject.id, dl.kind);
            a.order = dl.subject.id;
            if (found) { a.incident = { id: found.inc.id, number: found.inc.number }; a.text = found.order.unit_call_sign || found.order.org_name; }
          } else if (dl.subject && dl.subject.type === "incidents.incident") {
            const inc = m.incidents.get(dl.subject.id);
            if (inc) {
              a.incident = { id: inc.id, number: inc.number };
              a.text = inc.address;
              let known = false;
              for (const c of inc.clocks || []) if (c.kind === dl.kind) { c.breached_at = dl.breached_at; known = true; }
              // A clock the row did not list (it came by a push without it) is listed now, broken.
              if (!known) (inc.clocks = inc.clocks || []).push({ id: dl.id, kind: dl.kind, label: dl.label, order: null, due_at: dl.due_at, breached_at: dl.breached_at });
            }
          } else if (dl.subject) {
            // A clock of something the board holds no row for (a diversion's, at a partner): the push names
            // only the clock, so the state is loaded again, which says whose incident and which partner.
            out.stub = true;
          }
          if (addAlert(a)) out.alert = "breach";
        }
        changed("incidents"); changed("alerts");
      } else if (ev === "reminder.created") {
        // An incident's 催办 leaves the breach's own alert (it names the order and its unit) on the strip,
        // as the server's list does (supervision/selectors.py board_alerts); its 督办 covers it.
        if (d.incident != null && d.level === 1) return out;
        cover(d.deadline);
        if (d.level === 1 && addAlert({
          key: "reminder:" + d.id, kind: "reminder", at: d.created_at || env.at, task: d.task, clock: d.clock,
          covers: d.deadline, incident: null, org_name: d.recipient_name || orgName(d.recipient), text: d.task_title || "",
        })) out.alert = "reminder";
        changed("alerts");
      } else if (ev === "supervision.ordered") {
        cover(d.deadline);
        if (addAlert({
          key: "supervision:" + d.id, kind: "supervision", at: d.created_at || env.at, task: d.task, clock: d.clock,
          label: d.level ? CCFmt.localName(d.level) : "", covers: d.deadline, incident: d.incident ? { id: d.incident, number: d.incident_number || "" } : null,
          org_name: d.org_name || orgName(d.org), text: d.task_title || d.incident_number || "",
        })) out.alert = "supervision";
        changed("alerts");
      } else if (ev === "sentiment.hit" && d.acknowledged_at) {
        if (m.alerts.delete("sentiment-hit:" + d.id)) changed("alerts");
      } else if (ev === "sentiment.hit") {
        // 网情: a watch list of the area caught a post (sentiment/selectors.py board_alerts says the same).
        if (addAlert({
          key: "sentiment-hit:" + d.id, kind: "sentiment_hit", at: d.created_at || env.at, colour: d.colour,
          org_name: orgName(d.org), label: d.name, text: ((d.post && d.post.text) || "").slice(0, 80),
          url: d.post ? CCDom.url(urls.sentiment_post || "/sentiment/posts/0/", d.post.id) : "",
        })) out.alert = "sentiment";
        changed("alerts");
      } else if (ev === "sentiment.warning") {
        const key = "sentiment-warning:" + d.id;
        if (d.state === "open" && (d.colour === "red" || d.colour === "yellow")) {
          if (addAlert({
            key: key, kind: "sentiment_warning", at: d.created_at || env.at, colour: d.colour, org_name: d.org_name,
            label: d.category_name, text: d.reason, url: (urls.sentiment_monitor || "/sentiment/") + "?warning=" + d.id,
          })) out.alert = "sentiment";
        } else {
          m.alerts.delete(key);
        }
        changed("alerts");
      } else if (ev.indexOf("task.") === 0 && ev !== "task.overdue") {
        taskMoved(ev, d);
      } else if (ev === "watch.added" || ev === "watch.removed") {
        if (ev === "watch.removed") { if (m.watch.delete(d.id)) changed("watch"); }
        out.watch = true; // the push names ids only: the screen fetches the list (GET /api/watch/)
      } else if (ev === "repeat.cluster") {
        const inc = m.incidents.get(d.incident);
        const isNew = addAlert({
          key: "repeat:" + d.id, kind: "repeat", at: env.at, cluster: d.id, repeat_kind: d.kind, count: d.count,
          incident: inc ? { id: inc.id, number: inc.number } : null, text: d.address,
        });
        if (isNew) out.alert = "repeat";
        changed("alerts");
      } else if (ev === "unit.updated") {
        const old = m.units.get(d.id);
        if (fresh(old, d)) {
          m.units.set(d.id, Object.assign({}, old || {}, d, { org_name: orgName(d.org) || (old && old.org_name) || "" }));
          changed("units", [d.id]);
        }
      } else if (ev === "units.positions") {
        const ids = [];
        for (const u of d.units || []) {
          const old = m.units.get(u.id);
          if (fresh(old, u)) {
            m.units.set(u.id, Object.assign({}, old || {}, u, { org_name: orgName(u.org) || (old && old.org_name) || "" }));
            ids.push(u.id);
          }
        }
        if (ids.length) changed("units", ids);
      }
      return out;
    };

    m.sortedAlerts = function () {
      return Array.from(m.alerts.values()).sort(function (a, b) { return (Date.parse(b.at) || 0) - (Date.parse(a.at) || 0); });
    };

    m.setWatch = function (rows) {
      m.watch.clear();
      for (const w of rows || []) if (!w.closed) m.watch.set(w.id, w);
      changed("watch");
    };

    m.orgName = orgName;
    return m;
  }

  window.CCBoardModel = { create: create, LIVE_ORDER: LIVE_ORDER, OPEN_STATES: OPEN_STATES, WORKING_STATES: WORKING_STATES };
})();
