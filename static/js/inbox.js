// The station inbox (派出所接收岗), phone-sized: dispatch orders arrive live with a sound; one tap signs,
// then arrival, then the feedback form (反馈单: text + result code) which also finishes the order.
// The inbox reports `deliver/` when it first shows an order. State: GET /api/board/inbox/; live:
// /ws/board/ as the station's org; actions: the orders API and the incident's feedback API.
// The second tab, directive tasks (指令任务), and the reminders (催办/督办) above the tabs: inboxtasks.js.
(function () {
  "use strict";

  const h = CCDom.h;
  const LIVE = ["sent", "delivered", "signed", "arrived"];
  const RANK = { sent: 0, delivered: 0, signed: 1, arrived: 2 };
  const CLOCK = { sent: "dispatch.sign", delivered: "dispatch.sign", signed: "dispatch.arrive", arrived: "dispatch.feedback" };
  const DUE = { "dispatch.sign": "sign_due_at", "dispatch.arrive": "arrive_due_at", "dispatch.feedback": "feedback_due_at" };
  const RUNS_IN = { "dispatch.sign": ["sent", "delivered"], "dispatch.arrive": ["signed"], "dispatch.feedback": ["arrived"] };
  // Fields of an action's answer (the order API's shape) that mean the same as the push payload's.
  const SAME_FIELDS = ["state", "version", "delivered_at", "signed_at", "arrived_at", "done_at", "returned_at",
    "cancelled_at", "sign_due_at", "arrive_due_at", "feedback_due_at", "overdue"];

  function start(root) {
    const L10N = CCLive.readJson("screen-labels");
    const t = L10N.t || {};
    const ds = root.dataset;
    const orders = new Map();
    const cards = new Map(); // order id -> card element (kept, so an open form keeps what was typed)
    const delivered = new Set(); // orders this screen already reported as shown
    const fresh = new Set(); // orders that arrived while the screen was open (highlighted until touched)
    const el = {
      live: root.querySelector(".ib-live"),
      done: root.querySelector(".ib-done ol"),
      doneCount: root.querySelector(".ib-done .count"),
      doneBox: root.querySelector(".ib-done"),
      badge: root.querySelector("[data-tab=orders] .badge"),
      status: root.querySelector(".live-status"),
      results: root.querySelector("#result-options"),
    };

    const url = CCDom.url;  // dom.js

    function merge(id, data) {
      const old = orders.get(id);
      if (old && old.version != null && data.version != null && data.version < old.version) return old;
      const row = Object.assign({}, old || {}, data);
      if (old && old.incident && data.incident) row.incident = Object.assign({}, old.incident, data.incident);
      row.overdue = (data.overdue || (old && old.overdue) || []).filter(function (k) { return RUNS_IN[k] && RUNS_IN[k].indexOf(row.state) >= 0; });
      orders.set(id, row);
      return row;
    }

    // --- Cards --------------------------------------------------------------------------------------------
    function clockLine(o) {
      const kind = CLOCK[o.state];
      if (!kind || !o[DUE[kind]]) return null;
      return h("div", { class: "ib-clock" }, [
        h("span", { class: "clk-label", text: L10N.clock[kind] || kind }),
        h("span", { class: "clk big", dataset: { due: o[DUE[kind]] } }, CCLive.countdown(Date.parse(o[DUE[kind]]) - CCLive.now())),
      ]);
    }

    function body(o) {
      const inc = o.incident || {};
      const overdue = (o.overdue || []).length > 0;
      return h("div", { class: "ib-body" }, [
        h("div", { class: "ib-top" }, [
          h("span", { class: "lvl l" + inc.level, text: String(inc.level || "") }),
          h("span", { class: "cat", text: inc.category_name || CCLive.categoryName(inc.category) }),
          overdue ? h("span", { class: "flag", text: t.breach }) : null,
          h("span", { class: "ib-state st-" + o.state, text: L10N.order_state[o.state] || o.state }),
        ]),
        clockLine(o),
        h("div", { class: "ib-addr", text: inc.address || "" }),
        inc.narrative ? h("p", { class: "ib-narr narrative fold", text: inc.narrative }) : null,
        o.note ? h("p", { class: "ib-note", text: o.note }) : null,
        h("div", { class: "ib-meta" }, [
          inc.id ? h("a", { class: "num", href: url(ds.detailUrl, inc.id), text: inc.number || "" }) : null,
          h("span", { text: o.unit_call_sign || o.org_name || "" }),
          h("span", { text: L10N.order_kind[o.kind] || o.kind || "" }),
          h("span", { text: CCLive.clockTime(o.sent_at) + " " + t.sent }),
        ]),
        o.state === "returned" && o.return_reason ? h("p", { class: "ib-note", text: t.returned + ": " + o.return_reason }) : null,
      ]);
    }

    function actions(o, card) {
      const box = h("div", { class: "ib-actions" });
      const act = function (name, label, cls, payload) {
        return h("button", { type: "button", class: cls, dataset: { act: name }, onclick: function () { run(o.id, name, payload ? payload() : {}); }, text: label });
      };
      if (o.state === "sent" || o.state === "delivered") {
        box.append(act("sign", t.sign, "big primary sign"));
        box.append(h("button", { type: "button", class: "link-btn", onclick: function () { toggleReturn(card, o); }, text: t.return }));
      } else if (o.state === "signed") {
        box.append(act("arrive", t.arrive, "big primary arrive"));
      } else if (o.state === "arrived") {
        box.append(h("button", { type: "button", class: "big primary feedback", "aria-expanded": card.querySelector(".ib-form:not([hidden])") ? "true" : "false", onclick: function () { toggleFeedback(card, o); }, text: t.feedback }));
      }
      return box;
    }

    function toggleReturn(card, o) {
      let form = card.querySelector(".ib-return");
      if (form) { form.hidden = !form.hidden; if (!form.hidden) form.querySelector("input").focus(); return; }
      const input = h("input", { name: "reason", placeholder: t.return_reason, "aria-label": t.return_reason, maxlength: "2000" });
      form = h("form", { class: "ib-return" }, [input, h("button", { type: "submit", text: t.return })]);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!input.value.trim()) { input.focus(); return; }
        run(o.id, "return", { reason: input.value.trim() });
      });
      card.querySelector(".ib-extra").append(form);
      input.focus();
    }

    function toggleFeedback(card, o) {
      let form = card.querySelector(".ib-form");
      if (form) { form.hidden = !form.hidden; return; }
      const select = el.results.cloneNode(true);
      select.hidden = false;
      select.removeAttribute("id");
      select.name = "result";
      const text = h("textarea", { name: "text", rows: "3", required: true, placeholder: ds.tFeedbackPlaceholder, "aria-label": ds.tFeedbackText, maxlength: "20000" });
      const guide = h("fieldset", { class: "ib-guide", hidden: true });
      form = h("form", { class: "ib-form" }, [
        h("label", {}, [ds.tResult, select]),
        h("label", {}, [ds.tFeedbackText, text]),
        guide,
        h("button", { type: "submit", class: "big primary", text: t.submit_feedback }),
      ]);
      loadGuide(guide, o.incident || {});
      form.addEventListener("submit", async function (e) {
        e.preventDefault();
        if (!text.value.trim()) { text.focus(); return; }
        const cur = orders.get(o.id);
        const body = { text: text.value.trim(), result: select.value };
        const ticks = guideTicks(guide);
        if (ticks) {
          // Required items unticked: say which, and ask why before sending (the server refuses it too).
          if (ticks.missing.length && !ticks.body.unticked_reason) {
            say(o.id, ds.tGuideMissing + " " + ticks.missing.join("; "), "bad");
            guide.querySelector("input[name=unticked_reason]").focus();
            return;
          }
          Object.assign(body, ticks.body);
        }
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        const fb = await CCLive.api(url(ds.feedbackUrl, cur.incident.id), body);
        // A station sent as reinforcement into another area may not file that incident's feedback form
        // (403/404): its report back then rides on the order (`done` with the text as its note).
        if (!fb.ok && fb.status !== 403 && fb.status !== 404) {
          button.disabled = false;
          say(o.id, t.failed + ": " + CCLive.errorText(fb.data), "bad");
          return;
        }
        await run(o.id, "done", { note: text.value.trim().slice(0, 2000) });
        button.disabled = false;
      });
      card.querySelector(".ib-extra").append(form);
      text.focus();
    }

    // The handling guide (处置指引) of the incident's category and level, as boxes the officer ticks; the
    // ticks go with the feedback (GET /api/guides/match/; incidents.services.incident_feedback checks them).
    async function loadGuide(box, inc) {
      if (!ds.guideUrl || !inc.category) return;
      const q = new URLSearchParams({ category: inc.category, level: String(inc.level || 3) });
      const res = await CCLive.api(ds.guideUrl + "?" + q.toString());
      const g = res.ok ? res.data.guide : null;
      if (!g) return;
      box.dataset.guide = g.id;
      box.replaceChildren(
        h("legend", { text: ds.tGuide + " · " + g.title }),
        ...g.items.map(function (i) {
          return h("label", { class: "ib-tick" + (i.required ? " required" : "") }, [
            h("input", { type: "checkbox", name: "ticked", value: String(i.n), dataset: { text: i.text, required: i.required ? "1" : "" } }),
            h("span", { text: i.text }),
            i.required ? h("span", { class: "req", text: ds.tRequired }) : null,
          ]);
        }),
        h("input", { name: "unticked_reason", maxlength: "200", placeholder: ds.tGuideReason, "aria-label": ds.tGuideReason }),
      );
      box.hidden = false;
    }
    function guideTicks(box) {
      if (!box.dataset.guide) return null;
      const boxes = Array.from(box.querySelectorAll("input[name=ticked]"));
      const reason = box.querySelector("input[name=unticked_reason]").value.trim();
      return {
        body: { guide: parseInt(box.dataset.guide, 10), ticked: boxes.filter(function (b) { return b.checked; }).map(function (b) { return parseInt(b.value, 10); }), unticked_reason: reason },
        missing: boxes.filter(function (b) { return b.dataset.required && !b.checked; }).map(function (b) { return b.value + ". " + b.dataset.text; }),
      };
    }

    function say(id, text, kind) {
      const card = cards.get(id);
      const msg = card && card.querySelector(".ib-msg");
      if (!msg) return;
      msg.textContent = text;
      msg.className = "ib-msg " + (kind || "");
      msg.hidden = !text;
    }

    async function run(id, action, payload) {
      fresh.delete(id);
      const card = cards.get(id);
      if (card) for (const b of card.querySelectorAll("button")) b.disabled = true;
      const res = await CCLive.api(url(ds.orderUrl, id) + action + "/", payload);
      if (card) for (const b of card.querySelectorAll("button")) b.disabled = false;
      if (res.ok) {
        const patch = {};
        for (const f of SAME_FIELDS) if (f in res.data) patch[f] = res.data[f];
        merge(id, patch);
        say(id, "", "");
        draw();
      } else {
        say(id, t.failed + ": " + CCLive.errorText(res.data), "bad");
      }
    }

    function card(o) {
      let c = cards.get(o.id);
      if (!c) {
        c = h("li", { class: "ib-order" }, [h("div", { class: "ib-slot" }), h("div", { class: "ib-extra" }), h("p", { class: "ib-msg", role: "status", hidden: true })]);
        c.addEventListener("pointerdown", function () { if (fresh.delete(o.id)) c.classList.remove("fresh"); });
        cards.set(o.id, c);
      }
      const key = o.version + "|" + (o.overdue || []).join(",") + "|" + (o.incident && o.incident.narrative ? 1 : 0);
      c.className = "ib-order st-" + o.state + ((o.overdue || []).length ? " overdue" : "") + (fresh.has(o.id) ? " fresh" : "");
      c.dataset.id = o.id;
      c.dataset.state = o.state;
      c.dataset.number = (o.incident && o.incident.number) || "";
      if (c.dataset.key !== key) {
        c.dataset.key = key;
        c.querySelector(".ib-slot").replaceChildren(body(o), actions(o, c));
        if (o.state !== "arrived") { const f = c.querySelector(".ib-form"); if (f) f.remove(); }
        if (o.state !== "sent" && o.state !== "delivered") { const f = c.querySelector(".ib-return"); if (f) f.remove(); }
      }
      return c;
    }

    function draw() {
      const rows = Array.from(orders.values());
      const live = rows.filter(function (o) { return LIVE.indexOf(o.state) >= 0; }).sort(function (a, b) {
        const da = Date.parse(a[DUE[CLOCK[a.state]]]) || 0, db = Date.parse(b[DUE[CLOCK[b.state]]]) || 0;
        return RANK[a.state] - RANK[b.state] || da - db || b.id - a.id;
      });
      const ended = rows.filter(function (o) { return LIVE.indexOf(o.state) < 0; }).sort(function (a, b) { return b.id - a.id; });
      CCDom.place(el.live, live.length ? live.map(card) : [h("li", { class: "ib-empty", text: t.no_orders })]);
      CCDom.place(el.done, ended.map(card));
      el.doneCount.textContent = String(ended.length);
      el.doneBox.hidden = !ended.length;
      el.badge.textContent = String(live.length);
      el.badge.classList.toggle("hot", live.some(function (o) { return o.state === "sent" || o.state === "delivered"; }));
      for (const id of Array.from(cards.keys())) if (!orders.has(id)) cards.delete(id);
      deliverShown();
    }

    // Report "shown on the station's screen" once per order, when the page is actually visible.
    function deliverShown() {
      if (document.visibilityState !== "visible") return;
      for (const o of orders.values()) {
        if (o.state === "sent" && !delivered.has(o.id)) {
          delivered.add(o.id);
          CCLive.api(url(ds.orderUrl, o.id) + "deliver/", {}).then(function (res) {
            if (res.ok) {
              const patch = {};
              for (const f of SAME_FIELDS) if (f in res.data) patch[f] = res.data[f];
              merge(o.id, patch);
              draw();
            }
          });
        }
      }
    }
    document.addEventListener("visibilitychange", deliverShown);

    // --- Live ---------------------------------------------------------------------------------------------
    let refill = 0;
    const tasks = window.CCInboxTasks ? CCInboxTasks.create(root, { labels: L10N }) : null;
    function apply(env) {
      const d = env.data || {};
      const handled = tasks ? tasks.apply(env) : false;
      if (handled) {
        if (handled === "refill") { clearTimeout(refill); refill = setTimeout(function () { live.reload("connect"); }, 300); }
        return;
      }
      if (env.event.indexOf("order.") === 0 && env.event !== "order.overdue") {
        const isNew = !orders.has(d.id);
        merge(d.id, d);
        if (isNew && env.event === "order.sent") {
          fresh.add(d.id);
          CCLive.sound.play("order");
          if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
          // The push carries no narrative: fetch the inbox to fill it in (the card shows at once).
          clearTimeout(refill);
          refill = setTimeout(function () { live.reload("connect"); }, 300);
        }
        draw();
      } else if (env.event === "order.overdue") {
        merge(d.order.id, d.order);
        const o = orders.get(d.order.id);
        if (o.overdue.indexOf(d.clock) < 0 && RUNS_IN[d.clock] && RUNS_IN[d.clock].indexOf(o.state) >= 0) o.overdue.push(d.clock);
        CCLive.sound.play("alert");
        draw();
      } else if (env.event === "deadlines.breached") {
        let any = false;
        for (const dl of d.deadlines || []) {
          const o = dl.subject && dl.subject.type === "dispatch.dispatchorder" ? orders.get(dl.subject.id) : null;
          if (o && o.overdue.indexOf(dl.kind) < 0 && RUNS_IN[dl.kind] && RUNS_IN[dl.kind].indexOf(o.state) >= 0) { o.overdue.push(dl.kind); any = true; }
        }
        if (any) draw();
      }
    }

    const live = CCLive.follow({
      status: el.status,
      t: t,
      load: async function () {
        const res = await CCLive.api(ds.stateUrl);
        return res.ok ? res.data : null;
      },
      onState: function (state) {
        const seen = new Set();
        for (const o of state.orders) {
          seen.add(o.id);
          // A state fetched before an action's answer landed is older than the row: it never goes back.
          const old = orders.get(o.id);
          if (!(old && old.version != null && o.version != null && o.version < old.version)) orders.set(o.id, Object.assign({}, o));
        }
        for (const id of Array.from(orders.keys())) if (!seen.has(id)) orders.delete(id);
        for (const c of cards.values()) c.dataset.key = ""; // redraw every card's body from the new rows
        draw();
        if (tasks) tasks.load(state.tasks, state.reminders, state.feedback_returns);
      },
      onEvent: apply,
    });

    // Tabs: dispatch orders and directive tasks (指令任务); ← → moves between them.
    const tabs = Array.from(root.querySelectorAll("[role=tab]"));
    function showTab(tab) {
      for (const other of tabs) {
        const on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        root.querySelector("[data-panel=" + other.dataset.tab + "]").hidden = !on;
      }
    }
    for (const tab of tabs) {
      tab.addEventListener("click", function () { showTab(tab); });
      tab.addEventListener("keydown", function (e) {
        const k = tabs.indexOf(tab);
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          const next = tabs[(k + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
          showTab(next);
          next.focus();
          e.preventDefault();
        }
      });
    }

    CCLive.soundButton(root.querySelector(".sound-toggle"), t);
    CCLive.loadCategories(ds.categoriesUrl).then(draw);
    setInterval(function () { CCLive.tickCountdowns(root); }, 250);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-inbox]");
    if (root) start(root);
  });
})();
