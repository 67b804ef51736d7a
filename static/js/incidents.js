// Incident pages: the intake form (repeat hints while typing, category picker, map) and the action forms
// of the detail page and the partner inbox. Every write is a call to the API; nothing inline (strict CSP).
(function () {
  "use strict";

  const api = CCDom.api;  // dom.js

  // A field as the form labels it ("纬度", not "lat"): its <label>'s text, else its aria-label or placeholder.
  function fieldName(form, key) {
    const el = form && form.elements.namedItem(key);
    if (!el || !el.getAttribute) return key;
    const label = el.closest("label") || (el.id && form.querySelector('label[for="' + el.id + '"]'));
    const own = label ? (label.querySelector(".label-text") || label).textContent : "";
    return (own || el.getAttribute("aria-label") || el.getAttribute("placeholder") || key).trim();
  }

  function errorText(data, form) {
    if (!data) return "";
    if (data.detail) return data.detail + (data.allowed ? " (" + data.allowed.join(", ") + ")" : "");
    return Object.keys(data).map(function (k) { return fieldName(form, k) + ": " + [].concat(data[k]).join(" "); }).join("; ");
  }

  function changed(el) {
    if (el.tagName === "SELECT") {
      const first = Array.prototype.find.call(el.options, function (o) { return o.defaultSelected; });
      return el.value !== (first ? first.value : "");
    }
    return el.value !== el.defaultValue;
  }

  // The form's fields as JSON. `data-changed-only` (a correction): only the fields changed from what the
  // page showed, plus those marked `data-always`; fields sharing a `data-pair` (latitude and longitude) go
  // together. `data-skip-empty`: empty fields are left out (a choice of one of two). `data-int` and
  // `data-float` fields are numbers (an empty float field is null).
  function formJson(form) {
    const out = {};
    const changedOnly = form.hasAttribute("data-changed-only");
    const skipEmpty = form.hasAttribute("data-skip-empty");
    const pairs = {};
    if (changedOnly) {
      for (const el of form.elements) if (el.dataset && el.dataset.pair && changed(el)) pairs[el.dataset.pair] = true;
    }
    for (const el of form.elements) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "submit") continue;
      if (changedOnly && !el.hasAttribute("data-always") && !changed(el) && !(el.dataset.pair && pairs[el.dataset.pair])) continue;
      if (el.type === "checkbox" && el.hasAttribute("data-list")) {
        // A list of numbers: the boxes of one name that are ticked (a guide's checklist).
        if (!out[el.name]) out[el.name] = [];
        if (el.checked) out[el.name].push(parseInt(el.value, 10));
        continue;
      }
      if (skipEmpty && el.value === "") continue;
      if (el.hasAttribute("data-int")) out[el.name] = el.value === "" ? 0 : parseInt(el.value, 10);
      else if (el.hasAttribute("data-float")) out[el.name] = el.value === "" ? null : parseFloat(el.value);
      else out[el.name] = el.value;
    }
    return out;
  }

  function text(el, s) { el.textContent = s; return el; }

  // --- Action forms (detail page, partner inbox) --------------------------------------------------------
  function bindActionForms() {
    for (const form of document.querySelectorAll("form[data-api]")) {
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        const box = form.closest("[data-t-error]");
        const errors = box ? box.querySelector(".form-errors") : null;
        const button = form.querySelector("button[type=submit]");
        if (button) button.disabled = true;
        const res = await api(form.dataset.api, formJson(form));
        if (res.ok) { window.location.reload(); return; }
        if (button) button.disabled = false;
        if (errors) { errors.hidden = false; text(errors, (box.dataset.tError || "") + " " + errorText(res.data, form)); }
      });
    }
  }

  // --- Intake -------------------------------------------------------------------------------------------

  function bindIntake(root) {
    const form = root.querySelector("form");
    const f = function (name) { return form.elements.namedItem(name); };
    const hintList = root.querySelector(".hint-list");
    const errors = form.querySelector(".form-errors");
    const saved = form.querySelector(".saved");
    let categories = [];
    let picked = -1;

    // Category picker: search by code, Chinese name or pinyin initials; arrows + Enter pick.
    const search = f("category_search"), options = root.querySelector("#category-options");
    api(root.dataset.categoriesUrl).then(function (res) {
      if (!res.ok) return;
      categories = res.data;
      // A fast typist may be in the picker before the table arrived: show what the typed text finds now.
      if (document.activeElement === search && search.value.trim()) { picked = 0; renderOptions(); }
    });
    function matches(q) {
      q = q.trim().toLowerCase();
      if (!q) return [];
      return categories.filter(function (c) {
        return c.code.indexOf(q) === 0 || c.name.indexOf(q) >= 0 || (c.initials && c.initials.indexOf(q) === 0);
      }).sort(function (a, b) { return b.level - a.level; }).slice(0, 12);
    }
    function choose(c) {
      f("category").value = c.code;
      search.value = c.code + " " + c.name;
      options.hidden = true;
      search.setAttribute("aria-expanded", "false");
      refreshHints();
      // desk.js shows the category's handling guide.
      root.dispatchEvent(new CustomEvent("intake:category", { detail: c }));
    }
    function renderOptions() {
      const found = matches(search.value);
      options.replaceChildren();
      found.forEach(function (c, i) {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.dataset.code = c.code;
        if (i === picked) li.className = "active";
        text(li, c.code + "  " + c.name);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(c); });
        options.appendChild(li);
      });
      options.hidden = found.length === 0;
      search.setAttribute("aria-expanded", found.length ? "true" : "false");
      return found;
    }
    search.addEventListener("input", function () { picked = 0; f("category").value = ""; renderOptions(); });
    search.addEventListener("keydown", function (e) {
      const found = matches(search.value);
      if (e.key === "ArrowDown") { picked = Math.min(picked + 1, found.length - 1); renderOptions(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { picked = Math.max(picked - 1, 0); renderOptions(); e.preventDefault(); }
      else if (e.key === "Enter" && found.length) { choose(found[Math.max(picked, 0)]); e.preventDefault(); }
      else if (e.key === "Escape") { options.hidden = true; }
    });
    search.addEventListener("blur", function () { options.hidden = true; });

    // Repeat hints while typing.
    // Each request's generation: an answer to an older request (one still on its way when the call was
    // saved or the form cleared) is dropped, so a clean form never fills with the last call's hints.
    let hintGen = 0;
    async function refreshHints() {
      const gen = ++hintGen;
      const q = new URLSearchParams();
      if (f("caller_phone").value.trim()) q.set("phone", f("caller_phone").value.trim());
      if (f("address").value.trim()) q.set("address", f("address").value.trim());
      if (f("lat").value && f("lon").value) { q.set("lat", f("lat").value); q.set("lon", f("lon").value); }
      if (f("category").value) q.set("category", f("category").value);
      if (![...q.keys()].length) return;
      const res = await api(root.dataset.hintsUrl + "?" + q.toString());
      if (!res.ok || gen !== hintGen) return;
      const rows = res.data;
      hintList.replaceChildren();
      if (!rows.length) { hintList.appendChild(text(document.createElement("li"), root.dataset.tNone)).className = "muted"; return; }
      for (const h of rows) {
        const li = document.createElement("li");
        li.className = "hint hint-" + h.kind;
        const a = document.createElement("a");
        a.href = CCDom.url(root.dataset.detailUrl, h.id);
        a.target = "_blank";
        text(a, h.number);
        li.appendChild(a);
        li.appendChild(document.createTextNode(" " + h.reason + " · " + h.address));
        if (h.kind === "same_event") {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "small";
          text(b, root.dataset.tLink);
          b.addEventListener("click", function () { f("repeat_of").value = h.id; text(b, root.dataset.tLinked + " ✓"); });
          li.appendChild(b);
        }
        hintList.appendChild(li);
      }
    }
    const later = CCDom.debounce(refreshHints, 250);
    for (const name of ["caller_phone", "address", "lat", "lon"]) f(name).addEventListener("input", later);

    // Map: click to set the position (works with no tile server).
    const mapEl = root.querySelector("#intake-map");
    let pin = null;
    if (mapEl && window.CCMap && window.L) {
      const map = window.CCMap.create(mapEl, { center: [parseFloat(mapEl.dataset.lat), parseFloat(mapEl.dataset.lon)] });
      pin = window.CCMap.pick(map, function (p) { f("lat").value = p.lat; f("lon").value = p.lon; refreshHints(); mapEl.dispatchEvent(new CustomEvent("cc:pick", { detail: p })); });
      const sync = function () { if (f("lat").value && f("lon").value) pin.set(parseFloat(f("lat").value), parseFloat(f("lon").value)); };
      f("lat").addEventListener("change", sync); f("lon").addEventListener("change", sync);
    } else if (mapEl) {
      mapEl.hidden = true;
    }

    function newCallId() {
      const rnd = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      return "WEB-" + rnd;
    }
    let callId = newCallId();  // kept across retries of one call, so a double submit never makes two

    // The next call starts clean: no stale hints, pin, link, marks or errors (after a save, and on F2).
    const firstHint = hintList.innerHTML;
    function resetForm() {
      form.reset();
      f("category").value = ""; f("repeat_of").value = "";
      f("caller_phone").disabled = false;
      hintGen++;  // drop the answers still on their way
      hintList.innerHTML = firstHint;  // the page's own placeholder, as rendered by the server
      if (pin) pin.clear();
      errors.hidden = true;
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
      options.hidden = true;
      callId = newCallId();
      f("caller_phone").focus();
    }
    root.addEventListener("intake:reset", function () { saved.replaceChildren(); resetForm(); });

    function showErrors(data) {
      errors.hidden = false;
      const desk = window.CCDesk;
      text(errors, root.dataset.tError + " " + (desk ? desk.errorText(form, data) : errorText(data)));
      if (data) for (const k of Object.keys(data)) {
        const el = f(k === "category" ? "category_search" : k);
        if (el && el.classList) el.classList.add("invalid");
      }
    }

    let sending = false;
    async function submit() {
      if (sending) return;
      errors.hidden = true;
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
      const v = formJson(form);
      const body = {
        call_id: callId, source: v.source, caller_phone: v.phone_marker || v.caller_phone, caller_name: v.caller_name,
        address: v.address, category: v.category, level: parseInt(v.level, 10), narrative: v.narrative,
      };
      if (v.lat !== "" || v.lon !== "") { body.lat = v.lat === "" ? null : Number(v.lat); body.lon = v.lon === "" ? null : Number(v.lon); }
      if (v.repeat_of) { body.repeat_of = parseInt(v.repeat_of, 10); body.link_type = v.link_type; }
      // The page checks what the server checks (CCDesk.check), to say it before the round trip; the
      // server's 400 stays the rule.
      const refused = window.CCDesk ? window.CCDesk.check(body) : null;
      if (refused) { showErrors(refused); return; }
      sending = true;
      let res;
      try { res = await api(root.dataset.createUrl, body); } finally { sending = false; }
      if (res.ok) {
        const a = document.createElement("a");
        a.href = CCDom.url(root.dataset.detailUrl, res.data.id);
        text(a, res.data.number);
        resetForm();
        saved.replaceChildren(document.createTextNode(root.dataset.tSaved + " "), a);
        // static/js/desk.js shows the saved call's recommendations and actions.
        root.dispatchEvent(new CustomEvent("intake:saved", { detail: res.data }));
        return;
      }
      showErrors(res.data);
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    form.addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindActionForms();
    const intake = document.querySelector("[data-intake]");
    if (intake) bindIntake(intake);
  });
})();
