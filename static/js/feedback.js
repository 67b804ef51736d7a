// The feedback review page (反馈审核): the sampling rule of the reader's org, and the queue — each feedback
// with its incident, station, category, result, text, times and callback — to accept, or return for
// rectification (整改) with a note. Rows: GET /api/feedback-reviews/?filters; actions: POST …/{id}/accept|return/;
// the rule: GET/PUT …/sampling/. Helpers: dom.js (CCDom), fmt.js (CCFmt.when).
(function () {
  "use strict";

  const h = CCDom.h;

  function start(root) {
    const ds = root.dataset;
    const el = {
      list: root.querySelector(".fbr-list"),
      count: root.querySelector(".fbr-count"),
      msg: root.querySelector(".fbr-msg"),
      filters: root.querySelector(".fbr-filters"),
      sampling: root.querySelector(".fbr-sampling-form"),
      samplingWhere: root.querySelector(".fbr-sampling-where"),
      samplingMsg: root.querySelector(".fbr-sampling-msg"),
    };

    function say(node, text) {
      node.textContent = text || "";
      node.hidden = !text;
    }

    function failure(r) {
      if (r.status === 409) return ds.tConflict;
      const why = CCDom.errorText(r.data);
      return ds.tFailed + (why ? ": " + why : "");
    }

    async function loadSampling() {
      const r = await CCDom.api(ds.samplingUrl);
      if (!r.ok) return;
      el.sampling.elements.namedItem("percent").value = r.data.percent;
      el.samplingWhere.textContent = r.data.org_name + " · " + (r.data.own ? ds.tOwn : ds.tInherited);
    }

    el.sampling.addEventListener("submit", async function (e) {
      e.preventDefault();
      const value = parseInt(el.sampling.elements.namedItem("percent").value, 10);
      const r = await CCDom.api(ds.samplingUrl, { percent: isNaN(value) ? null : value }, "PUT");
      say(el.samplingMsg, r.ok ? ds.tSaved : failure(r));
      if (r.ok) { await loadSampling(); refresh(); }
    });

    async function decide(row, verb, note) {
      const r = await CCDom.api(ds.listUrl + row.id + "/" + verb + "/", { note: note || "" });
      say(el.msg, r.ok ? (verb === "accept" ? ds.tAccepted : ds.tReturned) + " · " + row.number : failure(r));
      await refresh();
    }

    function facts(row) {
      const out = [ds.tFiled + " " + CCFmt.when(row.created_at)];
      if (row.arrived) out.push(ds.tArrived + " " + CCFmt.when(row.arrived));
      if (row.cleared) out.push(ds.tCleared + " " + CCFmt.when(row.cleared));
      if (row.satisfaction) out.push(ds.tCallback + " " + row.satisfaction.label);
      return out.join(" · ");
    }

    function reviewLine(review) {
      if (!review) return null;
      const parts = [h("span", { class: "state state-" + review.state }, ds["tState" + review.state.charAt(0).toUpperCase() + review.state.slice(1)] || review.state)];
      if (review.rounds) parts.push(" " + ds.tRounds.replace("{n}", review.rounds));
      if (review.note) parts.push(" · " + ds.tLastNote + "：" + review.note);
      return h("div", { class: "fbr-review" }, parts);
    }

    function actions(row) {
      const open = !row.review || row.review.state === "rectified";
      if (!ds.canReview || !open) return null;
      const note = h("input", { name: "note", maxlength: ds.noteMax, placeholder: ds.tNote, "aria-label": ds.tNote });
      return h("div", { class: "fbr-actions inline-form" }, [
        note,
        h("button", { type: "button", class: "accept", onclick: function () { decide(row, "accept", note.value); } }, ds.tAccept),
        h("button", {
          type: "button",
          class: "return",
          onclick: function () {
            if (!note.value.trim()) { say(el.msg, ds.tNoteNeeded); note.focus(); return; }
            decide(row, "return", note.value);
          },
        }, ds.tReturn),
      ]);
    }

    function item(row) {
      const rect = row.rectification;
      return h("li", { class: "fbr-item", dataset: { id: row.id } }, [
        h("div", { class: "fbr-head" }, [
          h("a", { href: CCDom.url(ds.incidentPage, row.incident) + "#feedback-" + row.id }, row.number), " ",
          h("span", null, row.address), " ",
          h("span", { class: "chip" }, row.category_name || row.category), " ",
          h("span", { class: "muted" }, row.org_name),
          row.sampled ? h("span", { class: "chip fbr-sampled" }, ds.tSampled) : null,
        ]),
        h("div", { class: "fbr-result" }, [h("strong", null, row.result_name || row.result), " · ", row.text]),
        h("div", { class: "muted" }, facts(row)),
        reviewLine(row.review),
        rect ? h("div", { class: "fbr-rect" }, [h("strong", null, ds.tRectification + "："), rect.text]) : null,
        actions(row),
      ]);
    }

    async function refresh() {
      const q = new URLSearchParams({ page_size: "200" });
      for (const f of el.filters.elements) if (f.name && f.value) q.set(f.name, f.value);
      const r = await CCDom.api(ds.listUrl + "?" + q.toString());
      if (!r.ok) { say(el.msg, failure(r)); return; }
      const rows = CCDom.results(r.data);
      el.count.textContent = r.data && r.data.count !== undefined ? r.data.count : rows.length;
      el.list.replaceChildren.apply(el.list, rows.length ? rows.map(item) : [h("li", { class: "muted empty" }, ds.tNone)]);
    }

    el.filters.addEventListener("change", function () { say(el.msg, ""); refresh(); });
    el.filters.addEventListener("submit", function (e) { e.preventDefault(); });
    loadSampling();
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-feedback-review]");
    if (root) start(root);
  });
})();
