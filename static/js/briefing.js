// The briefing's pages (templates/briefing/): the morning report's editor and the station's duty log.
//
// Report: the Markdown textarea previews as the server renders it (POST /api/briefing/preview/: rendered
// without raw HTML and cleaned to an allow-list, so inserting it is safe; nothing inline runs under the
// CSP); "save" PATCHes the text with the version loaded (409: someone saved since — the page says reload);
// "refresh figures" re-drafts (the analyst's text is kept); "publish" publishes; each suggestion opens a
// 研判 from its source (POST to its endpoint — /api/analyses/ or /api/hotspots/analyse/ — with its action) and goes to it in the workspace.
// Duty log: notes, handover text and the signature, each through the API; the page reloads after a change.
(function () {
  "use strict";
  const D = window.CCDom;

  function status(el, ok, text) {
    if (!el) return;
    el.textContent = text;
    el.className = el.className.replace(/ (ok|bad)$/, "") + (ok ? " ok" : " bad");
  }

  function report() {
    const cfg = D.readJson("briefing-config");
    if (!cfg.report) return;
    const t = cfg.t || {};
    let version = cfg.report.version;
    const body = document.querySelector(".report-body");
    const preview = document.querySelector(".report-preview");
    const msg = document.querySelector(".report-status");

    async function render() {
      const res = await D.api(cfg.urls.preview, { body: body.value });
      // Sanitised by the server (nh3 allow-list): no script, handler or javascript: link survives.
      if (res.ok) preview.innerHTML = res.data.html;
    }
    if (body) body.addEventListener("input", D.debounce(render, 400));

    async function save() {
      const res = await D.api(cfg.urls.api, { body: body.value, version: version }, "PATCH");
      if (res.ok) { version = res.data.version; status(msg, true, t.saved); return true; }
      status(msg, false, (res.status === 409 ? t.stale : t.failed) + " " + D.errorText(res.data));
      return false;
    }
    const saveBtn = document.querySelector(".report-save");
    if (saveBtn) saveBtn.addEventListener("click", save);

    const redraft = document.querySelector(".report-redraft");
    if (redraft) redraft.addEventListener("click", async function () {
      if (body && !(await save())) return;
      const res = await D.api(cfg.urls.redraft, {});
      if (res.ok) window.location.reload();
      else status(msg, false, t.failed + " " + D.errorText(res.data));
    });

    const publish = document.querySelector(".report-publish");
    if (publish) publish.addEventListener("click", async function () {
      if (body && !(await save())) return;
      const res = await D.api(cfg.urls.publish, {});
      if (res.ok) { status(msg, true, t.published); window.location.reload(); }
      else status(msg, false, t.failed + " " + D.errorText(res.data));
    });

    document.querySelectorAll(".suggestion-analyse").forEach(function (btn) {
      btn.addEventListener("click", async function () {
        const s = cfg.report.suggestions[Number(btn.dataset.index)];
        btn.disabled = true;
        const res = await D.api(cfg.urls[s.endpoint || "analyses"], s.action);
        if (res.ok) window.location.assign(cfg.urls.workspace + "?analysis=" + (res.data.id || res.data.analysis));
        else { btn.disabled = false; btn.after(D.h("span", { class: "bad", text: " " + t.failed + " " + D.errorText(res.data) })); }
      });
    });
  }

  function duty() {
    const cfg = D.readJson("duty-config");
    if (!cfg.urls) return;
    const t = cfg.t || {};
    const msg = document.querySelector(".duty-status");

    async function send(url, data, method) {
      const res = await D.api(url, data, method);
      if (res.ok) window.location.reload();
      else status(msg, false, t.failed + " " + D.errorText(res.data));
      return res;
    }
    const add = document.querySelector(".duty-note-add");
    if (add) add.addEventListener("click", function () {
      send(cfg.urls.notes, { text: document.querySelector(".duty-note").value });
    });
    const handover = document.querySelector(".duty-handover-save");
    if (handover) handover.addEventListener("click", function () {
      send(cfg.urls.api, { handover: document.querySelector(".duty-handover").value }, "PATCH");
    });
    const sign = document.querySelector(".duty-sign");
    if (sign) sign.addEventListener("click", async function () {
      const text = document.querySelector(".duty-handover").value;
      const res = await D.api(cfg.urls.api, { handover: text }, "PATCH");
      if (!res.ok) { status(msg, false, t.failed + " " + D.errorText(res.data)); return; }
      send(cfg.urls.sign, {});
    });
  }

  document.addEventListener("DOMContentLoaded", function () { report(); duty(); });
})();
