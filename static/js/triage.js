// The station's triage queue of volunteer reports (社情), phone-sized: each report awaiting triage counts down
// its clock (红 once overdue) and offers four actions — make an incident, task to the community, forward to a
// community or partner, close with a reason. State: GET /api/community/reports/queue/ ({seq, at, reports,
// targets}); live: /ws/board/ (community.report.submitted, community.report.triaged, deadlines.breached);
// actions: POST /api/community/reports/{id}/make-incident|task|forward|close/ (409 when someone was first).
(function () {
  "use strict";

  const h = CCDom.h;
  const url = CCDom.url;

  function start(root) {
    const L10N = CCDom.readJson("community-labels");
    const t = L10N.t || {};
    const ds = root.dataset;
    const rows = new Map();
    let targets = [];
    let officers = [];

    function merge(r) {
      const old = rows.get(r.id);
      if (old && old.version != null && r.version != null && r.version < old.version) return;
      rows.set(r.id, Object.assign({}, old || {}, r));
    }

    async function act(r, path, body, card) {
      const res = await CCDom.api(url(ds.reportUrl, r.id) + path + "/", body);
      const err = card.querySelector(".cv-errors");
      if (res.ok) { merge(res.data); draw(); return; }
      if (err) err.textContent = t.failed + ": " + CCDom.errorText(res.data);
      if (res.status === 409) { const again = await CCDom.api(url(ds.reportUrl, r.id)); if (again.ok) { merge(again.data); draw(); } }
    }

    function formFor(r, card, kind) {
      const old = card.querySelector(".ct-form");
      if (old) old.remove();
      const note = h("textarea", { name: kind === "close" ? "reason" : "note", rows: 2, placeholder: kind === "close" ? t.reason : t.note });
      const parts = [];
      let target = null;
      if (kind === "forward") {
        target = h("select", { name: "target" }, targets.map(function (o) { return h("option", { value: String(o.id), text: o.name }); }));
        parts.push(h("label", {}, [t.target, target]));
      }
      let officer = null;
      if (kind === "task" && officers.length) {
        officer = h("select", { name: "assignee" }, [h("option", { value: "", text: "—" })].concat(officers.map(function (p) { return h("option", { value: String(p.id), text: p.name + " · " + p.org }); })));
        parts.push(h("label", {}, [t.assignee, officer]));
      }
      parts.push(note);
      const go = h("button", { type: "button", class: "primary", text: t.confirm });
      go.addEventListener("click", function () {
        const body = kind === "close" ? { reason: note.value } : { note: note.value };
        if (target) body.target = parseInt(target.value, 10);
        if (officer && officer.value) body.assignee = parseInt(officer.value, 10);
        act(r, kind, body, card);
      });
      parts.push(go, h("p", { class: "cv-errors", role: "alert" }));
      card.append(h("div", { class: "ct-form", dataset: { form: kind } }, parts));
    }

    function card(r) {
      const waiting = r.state === "submitted";
      const late = waiting && (r.late || Date.parse(r.triage_due_at) < CCLive.now());
      const el = h("li", { class: "ct-item" + (late ? " late" : ""), dataset: { state: r.state, report: String(r.id) } }, [
        h("div", { class: "ct-meta" }, [
          r.kind_label + " · " + r.category_label + " · " + r.volunteer.name + " · " + CCFmt.when(r.submitted_at) + " ",
          waiting ? h("span", { class: "clk", dataset: { due: r.triage_due_at } }, CCLive.countdown(Date.parse(r.triage_due_at) - CCLive.now())) : h("strong", { text: r.state_label }),
          late ? h("span", { class: "flag", text: " " + t.breach }) : null,
        ]),
        h("p", { class: "ct-text", text: r.text }),
        r.address ? h("div", { class: "ct-meta", text: r.address }) : null,
        r.photos.length ? h("div", { class: "ct-photos" }, r.photos.map(function (u) { return h("a", { href: u, target: "_blank" }, [h("img", { src: u, alt: t.photos })]); })) : null,
        r.incident ? h("a", { href: url(ds.incidentUrl, r.incident), text: t.incident + " #" + r.incident }) : null,
        !waiting && r.reason ? h("div", { class: "ct-meta", text: r.reason }) : null,
      ]);
      if (waiting) {
        const actions = h("div", { class: "ct-actions" });
        const buttons = [["make-incident", t.make_incident], ["task", t.task], ["forward", t.forward], ["close", t.close]];
        for (const [kind, label] of buttons) {
          const b = h("button", { type: "button", dataset: { action: kind }, text: label });
          b.addEventListener("click", function () { formFor(r, el, kind); });
          actions.append(b);
        }
        el.append(actions);
      }
      return el;
    }

    function draw() {
      const all = Array.from(rows.values());
      const waiting = all.filter(function (r) { return r.state === "submitted"; })
        .sort(function (a, b) { return Date.parse(a.triage_due_at) - Date.parse(b.triage_due_at); });
      const done = all.filter(function (r) { return r.state !== "submitted"; })
        .sort(function (a, b) { return Date.parse(b.triaged_at || 0) - Date.parse(a.triaged_at || 0); });
      const w = root.querySelector("[data-list=waiting]");
      const d = root.querySelector("[data-list=done]");
      // A card with an open form is kept, so what the officer typed is not lost on a push.
      const open = new Map();
      for (const el of w.querySelectorAll(".ct-item")) if (el.querySelector(".ct-form")) open.set(el.dataset.report, el);
      w.replaceChildren(...(waiting.length ? waiting.map(function (r) { return open.get(String(r.id)) || card(r); }) : [h("li", { class: "ct-meta", text: t.nothing })]));
      d.replaceChildren(...done.map(card));
      const badge = root.querySelector("[data-count=waiting]");
      badge.textContent = String(waiting.length);
      badge.classList.toggle("hot", waiting.length > 0);
    }

    CCLive.follow({
      status: root.querySelector(".live-status"),
      t: t,
      load: async function () {
        const res = await CCDom.api(ds.queueUrl);
        return res.ok ? res.data : null;
      },
      onState: function (state) {
        rows.clear();
        targets = state.targets || [];
        officers = state.officers || [];
        for (const r of state.reports) rows.set(r.id, r);
        draw();
      },
      onEvent: function (env) {
        if (env.event === "community.report.submitted" || env.event === "community.report.triaged") {
          merge(env.data || {});
          draw();
        } else if (env.event === "deadlines.breached") {
          draw();
        }
      },
    });
    setInterval(function () { CCLive.tickCountdowns(root); }, 250);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-community-triage]");
    if (root) start(root);
  });
})();
