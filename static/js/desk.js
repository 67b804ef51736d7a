// The intake page as a duty desk (接警即派): the form's rules as the page says them (phone, lengths, the
// field named as the form labels it), the saved call's recommendations with one-key dispatch (sent after
// the board's 5-second undo, undo.js), the diversion an auto-diversion rule proposes (D, through the same
// undo; the button at once), its divert, self-handle and link, the handling guide of the category and level
// chosen (read-only here: the officers on scene tick it), the next call from a clean form (F2), and a question before unsaved input is lost.
// The server's 400 stays the rule (incidents/api.py IntakeSerializer, incidents/phones.py); every action is
// a call to the API. Names and URLs come from the page's labels JSON (#intake-labels): the incidents app's
// own, and what dispatch adds (command_center.screens INTAKE). incidents.js owns the form and tells this
// file about a save with the `intake:saved` event; `intake:reset` asks it for a clean form.
(function () {
  "use strict";

  const h = CCDom.h, url = CCDom.url, api = CCDom.api;  // dom.js
  const L10N = CCDom.readJson("intake-labels");
  const t = L10N.t || {};

  // --- The form's rules, as the server has them ---------------------------------------------------------
  // incidents/phones.py PATTERNS: mobile, landline with its area code, service number (spaces and '-' allowed).
  const PHONE = [/^(?:\+?86|0086)?1[3-9]\d{9}$/, /^0[1-9]\d{1,2}\d{7,8}$/, /^(?:1\d{2}|[19]\d{4})$/];
  function phoneOk(value) {
    const raw = String(value || "").trim();
    if (!raw || ((L10N.phone || {}).markers || []).indexOf(raw) >= 0) return true;
    const compact = raw.replace(/[\s-]/g, "");
    return PHONE.some(function (p) { return p.test(compact); });
  }

  // The errors of `body` (an intake) the page can tell without the server, keyed as the API keys them.
  function check(body) {
    const out = {};
    const limits = L10N.limits || {};
    if (!phoneOk(body.caller_phone)) out.caller_phone = [(L10N.phone || {}).error || ""];
    if (!String(body.address || "").trim()) out.address = [t.required];
    for (const k of ["address", "narrative"]) {
      const n = String(body[k] || "").length;
      if (limits[k] && n > limits[k]) out[k] = [(t.too_long || "").replace("%(n)s", limits[k]).replace("%(len)s", n)];
    }
    if (!body.category) out.category = [t.required];
    return Object.keys(out).length ? out : null;
  }

  // The label the form shows for an API field name ("纬度" for lat): the text of the field's <label>.
  function fieldLabel(form, key) {
    const el = form.elements.namedItem(key === "category" ? "category_search" : key);
    const label = el && el.closest ? el.closest("label") : null;
    if (!label) return key;
    for (const node of label.childNodes) {
      if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) return node.textContent.replace("*", "").trim();
    }
    return key;
  }

  function errorText(form, data) {
    if (!data) return "";
    if (data.detail) return data.detail + (data.allowed ? " (" + data.allowed.join(", ") + ")" : "");
    return Object.keys(data).map(function (k) {
      const msg = [].concat(data[k]).map(function (m) { return typeof m === "string" ? m : JSON.stringify(m); });
      return (k === "non_field_errors" ? "" : fieldLabel(form, k) + ": ") + msg.join(" ");
    }).join("; ");
  }

  window.CCDesk = { check: check, errorText: errorText, phoneOk: phoneOk, fieldLabel: fieldLabel };

  // --- After a save: dispatch, divert, self-handle, link ------------------------------------------------
  function bindDesk(root) {
    const form = root.querySelector("form");
    const panel = root.querySelector("[data-desk]");
    if (!panel) return;
    const el = {
      title: panel.querySelector(".desk-title"), keys: panel.querySelector(".desk-keys"),
      msg: panel.querySelector(".desk-msg"), recs: panel.querySelector(".desk-recs"), actions: panel.querySelector(".desk-actions"),
      proposal: panel.querySelector(".desk-proposal"),
    };
    const urls = L10N.urls || {};
    const dispatchApi = L10N.dispatch || null;  // absent when no app above offers dispatch
    let call = null;      // the saved incident (the API's shape)
    let recs = [];
    let busy = false;
    let early = null;     // a key pressed before the recommendations arrived
    let proposal = null;  // the auto-diversion rule proposed for the call (the intake's answer), or null
    // A dispatch chosen by key waits 5 s in the undo bar (Enter: now, Esc: undo), as on the board.
    const undo = CCUndo.create({
      t: t,
      send: function sendWhenFree(p) {
        // Another action on the panel still running: the chosen dispatch goes out right after it.
        if (busy) { setTimeout(function () { sendWhenFree(p); }, 200); return; }
        if (p.divert) act(p.incidentId, urls.divert, p.body, "✓ " + t.diverted + " " + p.name);
        else dispatch(p.incidentId, p.body, p.name, p.number);
      },
      undone: function (p) { if (call && call.id === p.incidentId) say(t.undone, ""); },
    });

    function say(text, kind) { el.msg.textContent = text; el.msg.className = "desk-msg " + (kind || ""); }

    function show(incident) {
      call = incident; recs = []; early = null;
      drawProposal(incident.proposal || null);
      panel.hidden = false;
      panel.classList.remove("done");
      el.title.replaceChildren(h("a", { href: url(urls.page, incident.id), target: "_blank", text: incident.number }), " " + (incident.category_name || ""));
      el.keys.textContent = dispatchApi ? t.keys : "";
      say("", "");
      el.recs.replaceChildren(dispatchApi ? h("li", { class: "muted", text: t.loading }) : null);
      drawActions([]);
      panel.focus({ preventScroll: true });
      if (dispatchApi) loadRecs(incident.id);
      loadHints(incident.id);
    }

    function hide() { call = null; recs = []; early = null; drawProposal(null); panel.hidden = true; el.recs.replaceChildren(); el.actions.replaceChildren(); }

    // The rule's proposal: its target and name, confirmed by D (through the undo bar) or by the button (at once).
    function drawProposal(p) {
      proposal = p;
      el.proposal.hidden = !p;
      if (!p) { el.proposal.replaceChildren(); return; }
      el.proposal.replaceChildren(
        h("span", { class: "dp-what" }, [t.proposal + ": ", h("b", { text: p.target_name }), " ", h("span", { class: "muted", text: "(" + t.rule + " " + p.rule_name + ")" })]),
        h("button", { type: "button", class: "go divert-go", text: t.confirm_divert, onclick: function () { divertProposed(false); } }),
      );
    }
    function divertProposed(byKey) {
      if (!call || !proposal) return;
      const body = { partner: proposal.target, rule: proposal.rule, note: "" };
      if (byKey) undo.queue({ incidentId: call.id, number: call.number, name: proposal.target_name, body: body, divert: true, verb: t.diverting });
      else act(call.id, urls.divert, body, "✓ " + t.diverted + " " + proposal.target_name);
    }

    function fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(1) + " km" : m + " m"; }

    async function loadRecs(id) {
      const res = await api(url(dispatchApi.recommend_url, id) + "?limit=9");
      if (!call || call.id !== id) return;
      recs = res.ok ? res.data.results : [];
      const origin = res.ok ? res.data.origin : null;
      const parts = [];
      if (!res.ok) parts.push(h("li", { class: "error-text", text: t.failed + ": " + errorText(form, res.data) }));
      else if (!recs.length) parts.push(h("li", { class: "muted", text: t.no_recommendations }));
      recs.forEach(function (r, k) {
        const u = r.unit;
        parts.push(h("li", { class: "rec", dataset: { unit: u.id } }, [
          h("span", { class: "rk", text: String(k + 1) }),
          h("span", { class: "rec-main" }, [
            h("b", { text: u.call_sign }), " ", h("span", { class: "muted", text: (L10N.unit_kind || {})[u.kind] || u.kind }),
            h("span", { class: "rec-sub" }, [
              u.org_name, " · ", fmtDistance(r.distance_m), " · ",
              h("span", { class: r.within_ring ? "in" : "out", text: (r.within_ring ? t.within_ring : t.outside_ring) + " " + u.ring_minutes + t.min }),
              r.stale ? " · " + t.stale : null,
            ]),
          ]),
          // A click sends at once (it names its unit on screen); Enter or Space on the button waits 5 s, as a key.
          h("button", { type: "button", class: "go unit-go", title: "(" + (k + 1) + ")", text: t.dispatch_unit, dataset: { k: k }, onclick: function () { dispatch(call.id, { unit: u.id }, u.call_sign); } }),
          h("button", { type: "button", class: "go org-go", title: "(Shift+" + (k + 1) + ")", text: t.dispatch_station, dataset: { k: k, station: "1" }, onclick: function () { dispatch(call.id, { org: u.org }, u.org_name); } }),
        ]));
      });
      if (origin && origin.source !== "incident") parts.unshift(h("li", { class: "warn small", text: t.no_position }));
      el.recs.replaceChildren(...parts);
      const first = el.recs.querySelector("button.unit-go");
      // Keep the call-taker's place: only take the focus if it is still on the panel (not on the next call).
      if (first && (document.activeElement === panel || panel.contains(document.activeElement))) first.focus({ preventScroll: true });
      if (early) { const p = early; early = null; pick(p.k, p.station); }
    }

    // The saved call's own hints (same event nearby): the desk may link it to one.
    let hints = [];
    async function loadHints(id) {
      const res = await api(url(urls.incident, id));
      if (!call || call.id !== id || !res.ok) return;
      call = Object.assign({}, call, { allowed: res.data.allowed, state: res.data.state });
      drawProposal(res.data.proposal || null);  // gone once diverted or dispatched
      hints = (res.data.hints || []).filter(function (x) { return x.kind === "same_event"; });
      drawActions(call.allowed || []);
    }

    function drawActions(allowed) {
      const parts = [];
      if (allowed.indexOf("self_handle") >= 0) {
        parts.push(h("button", { type: "button", class: "self-handle", text: t.self_handle, onclick: selfHandle }));
      }
      if (allowed.indexOf("divert") >= 0 && (L10N.partners || []).length) {
        const sel = h("select", { name: "partner", "aria-label": t.divert }, (L10N.partners || []).map(function (p) { return h("option", { value: p.id, text: p.name }); }));
        parts.push(h("span", { class: "divert" }, [sel, h("button", { type: "button", text: t.divert, onclick: function () { divert(sel); } })]));
      }
      for (const x of hints) {
        parts.push(h("button", { type: "button", class: "link", dataset: { master: x.id }, text: t.link + " " + x.number, onclick: function () { link(x); } }));
      }
      el.actions.replaceChildren(...parts);
    }

    // An action on incident `id` (the call on the panel, or the one a pending dispatch was chosen for).
    async function act(id, address, body, done) {
      if (busy || id == null) return null;
      busy = true;
      for (const b of panel.querySelectorAll("button")) b.disabled = true;
      let res;
      try { res = await api(url(address, id), body); } finally { busy = false; }
      for (const b of panel.querySelectorAll("button")) b.disabled = false;
      if (!call || call.id !== id) return res;
      if (res.ok) { say(done, "ok"); drawActions([]); }  // until the refresh says what is open now
      else say(t.failed + ": " + errorText(form, res.data), "bad");
      loadHints(id);  // what the call allows now
      return res;
    }

    async function dispatch(id, body, name, number) {
      if (number == null) number = call && call.id === id ? call.number : "";
      const done = "✓ " + t.dispatched + " → " + name + " · " + number;
      const res = await act(id, dispatchApi.dispatch_url, body, done);
      if (res && !(call && call.id === id)) {
        // Chosen for the call before the one on the panel and sent meanwhile: say how it went, naming it.
        if (!panel.hidden) say(res.ok ? done : t.failed + " · " + number + ": " + errorText(form, res.data), res.ok ? "ok" : "bad");
        return;
      }
      if (res && res.ok) {
        const sent = el.recs.querySelector(body.unit ? '[data-unit="' + body.unit + '"]' : null);
        if (sent) sent.classList.add("sent");
        // The list folds to what was sent, so the hints and the map of the next call come back into view.
        panel.classList.add("done");
        // Dispatched: the call-taker's hands go back to the next call (the confirmation stays in view),
        // unless they are already typing it (the order went out by itself 5 s after the key).
        const at = document.activeElement;
        if (!at || at === document.body || panel.contains(at) || undo.bar.contains(at)) form.elements.namedItem("caller_phone").focus();
      }
    }
    // Recommendation k (0-based) of the call on the panel, or its station: into the undo bar.
    function pick(k, station) {
      const r = recs[k];
      if (!r || !call) return;
      const p = { incidentId: call.id, number: call.number };
      if (station) undo.queue(Object.assign(p, { body: { org: r.unit.org }, name: r.unit.org_name }));
      else undo.queue(Object.assign(p, { body: { unit: r.unit.id }, name: r.unit.call_sign }));
    }
    function selfHandle() { act(call && call.id, urls.self_handle, { reason: "" }, "✓ " + t.self_handled); }
    function divert(sel) {
      const name = sel.options[sel.selectedIndex] ? sel.options[sel.selectedIndex].text : "";
      act(call && call.id, urls.divert, { partner: parseInt(sel.value, 10), note: "" }, "✓ " + t.diverted + " " + name);
    }
    function link(x) { act(call && call.id, urls.link, { master: x.id, link_type: "repeat", reason: "" }, "✓ " + t.linked + " → " + x.number); }

    // Keys: while a dispatch waits, Enter sends it and Esc undoes it (anywhere but a form field). On the
    // panel: Enter the first unit, 1–9 that unit, Shift+1–9 its station; Enter or Space on a unit's or a
    // station's button that one. Each waits 5 s in the undo bar.
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = (e.target && e.target.tagName) || "";
      if (/INPUT|TEXTAREA|SELECT/.test(tag)) return;
      if (undo.key(e)) return;
      // D: the proposed diversion (非警务警情自动分流), through the undo bar as a dispatch key is.
      if (call && proposal && panel.contains(e.target) && e.code === "KeyD" && !e.shiftKey) { e.preventDefault(); divertProposed(true); return; }
      if (!call || !dispatchApi || !panel.contains(e.target)) return;
      const go = e.target.closest ? e.target.closest("button.go") : null;
      let k = -1, station = false;
      if (/^Digit[1-9]$/.test(e.code) || /^Numpad[1-9]$/.test(e.code)) { k = parseInt(e.code.slice(-1), 10) - 1; station = e.shiftKey; }
      else if ((e.key === "Enter" || e.key === " ") && go) { k = parseInt(go.dataset.k, 10); station = !!go.dataset.station; }
      else if (e.key === "Enter" && e.target === panel) k = 0;  // on another button, Enter presses that button
      if (k < 0) return;
      e.preventDefault();
      if (!recs.length && el.recs.querySelector(".muted")) early = { k: k, station: station };  // still loading
      else pick(k, station);
    });

    root.addEventListener("intake:saved", function (e) { show(e.detail); });

    // F2 (or the button): the next call, from a clean form.
    function nextCall() { hide(); root.dispatchEvent(new CustomEvent("intake:reset")); }
    document.addEventListener("keydown", function (e) { if (e.key === "F2") { e.preventDefault(); nextCall(); } });
    const next = root.querySelector("[data-next-call]");
    if (next) next.addEventListener("click", nextCall);

    // The no-number marker stands instead of a number: the number field is then off.
    const phone = form.elements.namedItem("caller_phone"), marker = form.elements.namedItem("phone_marker");
    if (marker) marker.addEventListener("change", function () { phone.disabled = !!marker.value; if (marker.value) phone.value = ""; });
    // Say a wrong number when the call-taker leaves the field, not only at save.
    phone.addEventListener("blur", function () { phone.classList.toggle("invalid", !phoneOk(phone.value)); });

    bindGuide(root, form);
    bindGuard(root, form);
  }

  // --- The handling guide (处置指引) of the category and level on the form ---------------------------------
  // Read-only at the desk: the call-taker reads out what matters (keep the scene, who is hurt) and the
  // officers on scene tick it on their feedback. It stays for the saved call until the next category or F2.
  function bindGuide(root, form) {
    const card = root.querySelector("[data-guide]");
    const urls = L10N.urls || {};
    if (!card || !urls.guide) return;
    const title = card.querySelector(".guide-title"), list = card.querySelector(".guide-items");
    let gen = 0;
    function draw(g) {
      card.hidden = !g;
      if (!g) { title.replaceChildren(); list.replaceChildren(); return; }
      title.replaceChildren(t.guide + " · " + g.title, " ", h("span", { class: "muted small", text: "v" + g.version }));
      list.replaceChildren(...g.items.map(function (i) {
        return h("li", { class: i.required ? "required" : "" }, [i.text, i.required ? h("span", { class: "req", text: t.req }) : null]);
      }));
    }
    async function load() {
      const category = form.elements.namedItem("category").value;
      const level = form.elements.namedItem("level").value;
      const mine = ++gen;
      if (!category) return;
      const res = await api(urls.guide + "?" + new URLSearchParams({ category: category, level: level }).toString());
      if (mine === gen) draw(res.ok ? res.data.guide : null);
    }
    root.addEventListener("intake:category", load);
    form.elements.namedItem("level").addEventListener("change", load);
    root.addEventListener("intake:reset", function () { gen++; draw(null); });
  }

  // --- Unsaved input: ask before it is lost --------------------------------------------------------------
  function dirty(form) {
    for (const el of form.elements) {
      if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      if (el.tagName === "SELECT") { if (el.selectedIndex !== Math.max(0, Array.from(el.options).findIndex(function (o) { return o.defaultSelected; }))) return true; }
      else if (String(el.value || "").trim() !== String(el.defaultValue || "").trim()) return true;
    }
    return false;
  }

  function bindGuard(root, form) {
    let leaving = false;  // the person already said yes (an in-app link)
    window.addEventListener("beforeunload", function (e) {
      if (leaving || !dirty(form)) return;
      e.preventDefault();
      e.returnValue = "";  // the browser shows its own question
    });
    // A link in the page (menu, a saved number, a hint opened in this tab): our own question, in words.
    document.addEventListener("click", function (e) {
      const a = e.target && e.target.closest ? e.target.closest("a[href]") : null;
      if (!a || a.target === "_blank" || e.defaultPrevented || e.ctrlKey || e.metaKey || e.shiftKey) return;
      if (a.getAttribute("href").charAt(0) === "#" || !dirty(form)) return;
      if (window.confirm(t.leave)) { leaving = true; return; }
      e.preventDefault();
    }, true);
    // A form posted elsewhere (log out): the same question.
    document.addEventListener("submit", function (e) {
      if (e.target === form || !dirty(form)) return;
      if (window.confirm(t.leave)) { leaving = true; return; }
      e.preventDefault();
    }, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-intake]");
    if (root) bindDesk(root);
  });
})();
