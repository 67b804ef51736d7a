// The partner inbox (分流工单, 12345 / 综治中心), phone-sized and wide-screen alike: diversions pushed by the
// command center appear live with a sound; each card counts down its two clocks (受理时限 from the push to
// acceptance, 办结时限 from the push to the result) and turns red when one broke and is still awaited. The
// partner accepts, returns with a reason or completes with a result from the card.
// State: GET /api/diversions/inbox/ ({seq, at, acts, diversions}); live: /ws/board/ as the caller's org
// (diversion.pushed, diversion.updated, deadlines.breached); actions: POST /api/diversions/{id}/accept|return|complete/.
(function () {
  "use strict";

  const h = CCDom.h;
  const ACCEPT = "incidents.diversion.accept";
  const FINISH = "incidents.diversion.finish";
  const OPEN = ["pushed", "accepted"];

  function start(root) {
    const L10N = CCLive.readJson("screen-labels");
    const t = L10N.t || {};
    const ds = root.dataset;
    const rows = new Map(); // diversion id -> the API's row (DiversionSerializer), merged with pushes
    const cards = new Map(); // diversion id -> card element (kept, so an open form keeps what was typed)
    const fresh = new Set(); // pushed while the screen was open: highlighted until touched
    let acts = false;
    const col = function (name) { return root.querySelector("[data-col=" + name + "]"); };

    const url = CCDom.url;  // dom.js

    function merge(data) {
      const old = rows.get(data.id);
      if (old && old.version != null && data.version != null && data.version < old.version) return old;
      const row = Object.assign({}, old || {}, data);
      if (old && old.incident && typeof data.incident !== "object") row.incident = old.incident; // a push names only its id
      rows.set(data.id, row);
      return row;
    }

    // A clock is awaited while neither met nor cancelled; it is red once broken and still awaited.
    function awaited(c) { return !c.met_at && !c.cancelled_at; }
    function clockOf(d, kind) { return (d.clocks || []).find(function (c) { return c.kind === kind; }) || null; }
    function overdue(d) { return (d.clocks || []).some(function (c) { return awaited(c) && c.breached_at; }); }

    // --- Cards --------------------------------------------------------------------------------------------
    function clockLine(c) {
      const label = CCFmt.clockLabel(c.kind, c.label);
      const broken = !!c.breached_at;
      let value;
      if (awaited(c)) {
        value = h("span", { class: "clk big" + (broken ? " late" : ""), dataset: { due: c.due_at } }, CCLive.countdown(Date.parse(c.due_at) - CCLive.now()));
      } else if (c.met_at) {
        value = h("span", { class: "clk-done" + (broken ? " late" : "") }, (broken ? t.met_late : t.met) + " " + CCFmt.when(c.met_at));
      } else {
        return null; // cancelled: the diversion ended otherwise (returned, withdrawn)
      }
      return h("div", { class: "ib-clock" + (broken && awaited(c) ? " breached" : ""), dataset: { clock: c.kind } }, [
        h("span", { class: "clk-label" }, [label, broken ? h("span", { class: "flag", text: t.breach }) : null]),
        value,
      ]);
    }

    function body(d) {
      const inc = d.incident || {};
      const accept = clockOf(d, ACCEPT), finish = clockOf(d, FINISH);
      return h("div", { class: "ib-body" }, [
        h("div", { class: "ib-top" }, [
          h("span", { class: "cat", text: inc.category_name || "" }),
          overdue(d) ? h("span", { class: "flag", text: t.breach }) : null,
          h("span", { class: "ib-state state state-" + d.state + " st-" + d.state, text: (L10N.state || {})[d.state] || d.state }),
        ]),
        d.state === "pushed" && accept ? clockLine(accept) : null,
        OPEN.indexOf(d.state) >= 0 && finish ? clockLine(finish) : null,
        d.state === "accepted" && accept && accept.breached_at ? clockLine(accept) : null,
        h("div", { class: "ib-addr", text: inc.address || "" }),
        inc.narrative ? h("p", { class: "ib-narr narrative fold", text: inc.narrative }) : null,
        d.note ? h("p", { class: "ib-note", text: t.note + ": " + d.note }) : null,
        d.result ? h("p", { class: "pi-result", text: t.result_label + ": " + d.result }) : null,
        d.state === "returned" && d.return_reason ? h("p", { class: "ib-note", text: t.returned + ": " + d.return_reason }) : null,
        h("div", { class: "ib-meta" }, [
          inc.id ? h("a", { class: "num", href: url(ds.detailUrl, inc.id), text: inc.number || "" }) : null,
          d.partner_name ? h("span", { text: d.partner_name }) : null,
          d.pushed_at ? h("span", { text: CCFmt.when(d.pushed_at) + " " + t.pushed }) : null,
        ]),
      ]);
    }

    function actions(d, card) {
      const box = h("div", { class: "ib-actions" });
      if (!acts) return box;
      if (d.state === "pushed") {
        box.append(h("button", { type: "button", class: "big primary accept", dataset: { act: "accept" }, onclick: function () { run(d.id, "accept", {}); }, text: t.accept }));
      } else if (d.state === "accepted") {
        box.append(h("button", { type: "button", class: "big primary complete", dataset: { act: "complete" }, onclick: function () { toggleForm(card, d, "complete"); }, text: t.complete }));
      }
      if (OPEN.indexOf(d.state) >= 0) {
        box.append(h("button", { type: "button", class: "link-btn", dataset: { act: "return" }, onclick: function () { toggleForm(card, d, "return"); }, text: t.return }));
      }
      return box;
    }

    // The return form (a reason) and the completion form (a result): one of them open under the buttons.
    function toggleForm(card, d, action) {
      const extra = card.querySelector(".ib-extra");
      const other = extra.querySelector("form:not(.pi-" + action + ")");
      if (other) other.hidden = true;
      let form = extra.querySelector(".pi-" + action);
      if (form) { form.hidden = !form.hidden; if (!form.hidden) form.querySelector("textarea").focus(); return; }
      const field = action === "return" ? "reason" : "result";
      const label = action === "return" ? t.return_reason : t.result;
      const text = h("textarea", { name: field, rows: "2", required: true, placeholder: label, "aria-label": label, maxlength: action === "return" ? "2000" : "5000" });
      form = h("form", { class: "ib-form pi-" + action }, [
        text,
        h("button", { type: "submit", class: action === "return" ? "" : "big primary", text: action === "return" ? t.return : t.submit_complete }),
      ]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!text.value.trim()) { text.focus(); return; }
        const body = {};
        body[field] = text.value.trim();
        run(d.id, action, body);
      });
      extra.append(form);
      text.focus();
    }

    function say(id, text) {
      const card = cards.get(id);
      const msg = card && card.querySelector(".ib-msg");
      if (!msg) return;
      msg.textContent = text;
      msg.className = "ib-msg" + (text ? " bad" : "");
      msg.hidden = !text;
    }

    async function run(id, action, payload) {
      fresh.delete(id);
      const card = cards.get(id);
      if (card) for (const b of card.querySelectorAll("button")) b.disabled = true;
      const res = await CCLive.api(url(ds.diversionUrl, id) + action + "/", payload);
      if (card) for (const b of card.querySelectorAll("button")) b.disabled = false;
      if (res.ok) {
        merge(res.data);
        say(id, "");
        draw();
      } else {
        say(id, t.failed + ": " + CCLive.errorText(res.data));
      }
    }

    function card(d) {
      let c = cards.get(d.id);
      if (!c) {
        c = h("li", { class: "ib-order diversion" }, [h("div", { class: "ib-slot" }), h("div", { class: "ib-extra" }), h("p", { class: "ib-msg", role: "status", hidden: true })]);
        c.addEventListener("pointerdown", function () { if (fresh.delete(d.id)) c.classList.remove("fresh"); });
        cards.set(d.id, c);
      }
      const red = overdue(d);
      const key = [d.version, (d.clocks || []).map(function (k) { return k.id + ":" + (k.breached_at || "") + (k.met_at || "") + (k.cancelled_at || ""); }).join(","), d.incident && d.incident.narrative ? 1 : 0, acts].join("|");
      c.className = "ib-order diversion st-" + d.state + (red ? " overdue" : "") + (fresh.has(d.id) ? " fresh" : "");
      c.dataset.id = d.id;
      c.dataset.state = d.state;
      c.dataset.number = (d.incident && d.incident.number) || "";
      if (c.dataset.key !== key) {
        c.dataset.key = key;
        c.querySelector(".ib-slot").replaceChildren(body(d), actions(d, c));
        // A form the new state no longer allows goes (a completion form once returned, both once ended).
        for (const f of c.querySelectorAll(".ib-extra form")) {
          if (OPEN.indexOf(d.state) < 0 || (f.classList.contains("pi-complete") && d.state !== "accepted")) f.remove();
        }
      }
      return c;
    }

    function due(d, kind) { const c = clockOf(d, kind); return c ? Date.parse(c.due_at) || 0 : 0; }
    function fill(name, list) {
      const section = col(name);
      section.querySelector("ol").replaceChildren(...(list.length ? list.map(card) : [h("li", { class: "ib-empty", text: t.nothing })]));
      const badge = section.querySelector(".badge");
      badge.textContent = String(list.length);
      badge.classList.toggle("hot", name !== "ended" && list.some(overdue));
    }

    function draw() {
      const all = Array.from(rows.values());
      // The most urgent first: the clock that runs out soonest.
      fill("pushed", all.filter(function (d) { return d.state === "pushed"; }).sort(function (a, b) { return due(a, ACCEPT) - due(b, ACCEPT) || b.id - a.id; }));
      fill("accepted", all.filter(function (d) { return d.state === "accepted"; }).sort(function (a, b) { return due(a, FINISH) - due(b, FINISH) || b.id - a.id; }));
      fill("ended", all.filter(function (d) { return OPEN.indexOf(d.state) < 0; }).sort(function (a, b) { return (Date.parse(b.finished_at) || 0) - (Date.parse(a.finished_at) || 0) || b.id - a.id; }));
      for (const id of Array.from(cards.keys())) if (!rows.has(id)) cards.delete(id);
    }

    // A push carries no incident text (pushes are shared by a whole group): the row is read over REST.
    async function fetchRow(id) {
      const res = await CCLive.api(url(ds.diversionUrl, id));
      if (res.ok) { merge(res.data); draw(); }
    }

    // --- Live ---------------------------------------------------------------------------------------------
    function apply(env) {
      const d = env.data || {};
      if (env.event === "diversion.pushed" || env.event === "diversion.updated") {
        const known = rows.has(d.id);
        merge(d);
        if (env.event === "diversion.pushed" && !known) {
          fresh.add(d.id);
          CCLive.sound.play("order");
          if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        }
        if (!known || !rows.get(d.id).incident || typeof rows.get(d.id).incident !== "object") fetchRow(d.id);
        draw();
      } else if (env.event === "deadlines.breached") {
        let any = false;
        for (const dl of d.deadlines || []) {
          const row = dl.subject && dl.subject.type === "incidents.diversion" ? rows.get(dl.subject.id) : null;
          const c = row && clockOf(row, dl.kind);
          if (c && !c.breached_at) { c.breached_at = dl.breached_at; c.due_at = dl.due_at || c.due_at; any = true; }
        }
        if (any) { CCLive.sound.play("alert"); draw(); }
      }
    }

    CCLive.follow({
      status: root.querySelector(".live-status"),
      t: t,
      load: async function () {
        const res = await CCLive.api(ds.stateUrl);
        return res.ok ? res.data : null;
      },
      onState: function (state) {
        acts = !!state.acts;
        rows.clear();
        for (const d of state.diversions) rows.set(d.id, Object.assign({}, d));
        for (const c of cards.values()) c.dataset.key = ""; // redraw every card from the new rows
        draw();
      },
      onEvent: apply,
    });

    CCLive.soundButton(root.querySelector(".sound-toggle"), t);
    setInterval(function () { CCLive.tickCountdowns(root); }, 250);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-partner-inbox]");
    if (root) start(root);
  });
})();
