// CCDom: the small helpers every page's script shares, one copy of each. base.html loads this file on every
// page, before the page's own scripts (all `defer`, so they run in document order). Plain script, no build
// step, no inline code (strict CSP).
//
// - h(tag, attrs, children): an element. attrs: `class`, `text`, `dataset`, `on<event>` (a function), any
//   other attribute (true: present, false/null: absent); children: nodes, strings or numbers (null/false
//   skipped).
// - readJson(id): what a json_script element holds ({} when the page has none).
// - url(template, id): a reversed URL with 0 for the id ("/api/incidents/0/") made for this id.
// - results(data): the rows of a list answer, paginated ({results}) or not.
// - debounce(fn, ms): fn once the calls stop for ms (with the last call's arguments).
// - csrf(), api(url, body, method), errorText(data): JSON both ways with the CSRF token; api() resolves to
//   {ok, status, data} (status 0 when the network failed: it never throws); errorText() says a 400/409's
//   answer in one line.
(function () {
  "use strict";

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k === "dataset") Object.assign(el.dataset, v);
        else if (k.slice(0, 2) === "on" && typeof v === "function") el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of [].concat(children == null ? [] : children)) {
      if (c == null || c === false) continue;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return el;
  }

  function readJson(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  function url(template, id) { return String(template).replace("/0/", "/" + id + "/"); }

  function results(data) { return data && Array.isArray(data.results) ? data.results : (Array.isArray(data) ? data : []); }

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function csrf() {
    const el = document.querySelector("[name=csrfmiddlewaretoken]");
    if (el) return el.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // A GET when there is no body, else a POST (or `method`).
  async function api(address, body, method) {
    let r;
    try {
      r = await fetch(address, {
        method: method || (body === undefined ? "GET" : "POST"),
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, data: null };
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { ok: r.ok, status: r.status, data: data };
  }

  function errorText(data) {
    if (!data) return "";
    if (data.detail) return data.detail + (data.allowed ? " (" + data.allowed.join(", ") + ")" : "");
    return Object.keys(data).map(function (k) { return k + ": " + [].concat(data[k]).join(" "); }).join("; ");
  }

  // Buttons that each open a note, sent with Enter or "send" as {note} to the button's address — the
  // supervisor's 催办 / 督办 by hand (the review page's overdue list, the measures' drill-down).
  // acts: [{label, url, cls, body}] (`body(note)` makes what is sent, else {note}); t: {note, send, done,
  // failed}; on.open(note) when a note opens, on.sent(res, act) after a success.
  function noteActions(acts, t, on) {
    on = on || {};
    const box = h("span", { class: "od-hand" });
    function open(act) {
      const note = h("input", { class: "od-note", maxlength: "500", placeholder: t.note, "aria-label": t.note });
      const msg = h("span", { class: "od-msg small", role: "status" });
      async function send() {
        const res = await api(act.url, act.body ? act.body(note.value) : { note: note.value });
        msg.textContent = res.ok ? t.done : t.failed + "：" + errorText(res.data);
        msg.className = "od-msg small " + (res.ok ? "ok" : "bad");
        if (res.ok) { note.disabled = true; if (on.sent) on.sent(res, act); }
      }
      note.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); send(); } });
      if (on.open) on.open(note);
      box.replaceChildren(note, h("button", { type: "button", class: "small od-send", onclick: send, text: t.send }), msg);
      note.focus();
    }
    box.replaceChildren(...acts.map(function (act) {
      return h("button", { type: "button", class: "small " + (act.cls || ""), onclick: function () { open(act); }, text: act.label });
    }));
    return box;
  }

  // place(parent, nodes): make `nodes` the parent's children, in order, moving only the nodes out of place.
  // A live list redraws on every push; replaceChildren would take each card out and put it back, and a field
  // being typed in loses its focus (and its keystrokes, and a phone its keyboard). Focus and the caret are
  // put back if a move took them anyway.
  function place(parent, nodes) {
    const active = document.activeElement;
    const inside = active && active !== document.body && parent.contains(active) ? active : null;
    const caret = inside && typeof inside.selectionStart === "number" ? [inside.selectionStart, inside.selectionEnd] : null;
    const keep = new Set(nodes);
    for (const child of Array.from(parent.childNodes)) if (!keep.has(child)) child.remove();
    let at = parent.firstChild;
    for (const node of nodes) {
      if (node === at) { at = at.nextSibling; continue; }
      parent.insertBefore(node, at);
    }
    if (inside && inside.isConnected && document.activeElement !== inside) {
      inside.focus({ preventScroll: true });
      if (caret) { try { inside.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text field */ } }
    }
  }

  window.CCDom = {
    h: h, readJson: readJson, url: url, results: results, debounce: debounce,
    csrf: csrf, api: api, errorText: errorText, noteActions: noteActions, place: place,
  };
})();
