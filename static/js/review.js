// The supervision page (督办中心): the review queue — reports awaiting a decision, oldest first, with the
// report itself (text, checklist, files) and approve / return-with-reason — the incidents a dissatisfied
// callback marked for rectification, the overdue list by org and kind, and the watch list (盯办).
// Rows: GET /api/review/, /api/overdue/, /api/watch/ (after the live `seq`); live: /ws/board/ — a push
// that concerns the page fetches the rows again; actions: the tasks and watch APIs. Load after live.js.
(function () {
  "use strict";

  const h = CCDom.h;

  function when(iso) { return CCFmt.when(iso); }  // in the server's zone (fmt.js)
  const url = CCDom.url, rows = CCDom.results, debounce = CCDom.debounce;  // dom.js

  function start(root) {
    const L = CCLive.readJson("loop-labels");
    const T = L.t || {};
    const ds = root.dataset;
    const el = {
      list: root.querySelector(".rv-list"),
      count: root.querySelector(".rv-count"),
      incidents: root.querySelector(".rv-incidents"),
      body: root.querySelector(".rv-body"),
      odGroups: root.querySelector(".od-groups tbody"),
      odList: root.querySelector(".od-list"),
      odCount: root.querySelector(".od-count"),
      odKind: root.querySelector("[name=od-kind]"),
      odFilter: root.querySelector(".od-filter"),
      wList: root.querySelector(".w-list"),
      wCount: root.querySelector(".w-count"),
      wForm: root.querySelector(".watch-form"),
      wMsg: root.querySelector(".w-msg"),
    };
    let state = { review: { tasks: { results: [] }, incidents: { results: [] } }, overdue: { groups: [], results: [] }, watch: [] };
    let selected = null; // task id
    let detail = null; // the selected task's detail (GET /api/tasks/{id}/)
    let notice = { text: "", kind: "" };
    let generation = 0;
    let odOrg = null; // the overdue list narrowed to one org's subtree (a click on its count)

    async function load() {
      const kind = el.odKind.value;
      const [r, o, w] = await Promise.all([
        CCLive.api(ds.reviewUrl),
        CCLive.api(ds.overdueUrl + "?page_size=100" + (kind ? "&kind=" + encodeURIComponent(kind) : "") + (odOrg ? "&org=" + odOrg.id : "")),
        CCLive.api(ds.watchUrl + "?page_size=200"),
      ]);
      if (!r.ok || !o.ok || !w.ok) return null;
      return { review: r.data, overdue: o.data, watch: rows(w.data) };
    }

    function watchedTask(id) { return state.watch.some(function (w) { return w.task && w.task.id === id; }); }
    function watchedIncident(id) { return state.watch.some(function (w) { return w.incident && w.incident.id === id; }); }

    function watchButton(body, watched) {
      if (!ds.canWatch) return null;
      if (watched) return h("span", { class: "tag", text: ds.tWatched });
      return h("button", { type: "button", class: "small watch-btn", onclick: function (e) { e.stopPropagation(); addWatch(body); }, text: ds.tWatch });
    }

    // --- The queue ----------------------------------------------------------------------------------------
    function queueRow(t) {
      return h("li", {
        class: "rv-item c-" + t.colour + (t.id === selected ? " selected" : "") + ((t.overdue || []).length ? " overdue" : ""),
        role: "option", "aria-selected": t.id === selected ? "true" : "false", tabindex: "-1",
        dataset: { id: t.id, title: t.title, org: t.org_name },
        onclick: function () { select(t.id); },
      }, [
        h("div", { class: "dir-top" }, [
          h("span", { class: "colour-chip c-" + t.colour, text: L.colour[t.colour] || t.colour }),
          h("b", { class: "rv-title", text: t.title }),
        ]),
        h("div", { class: "dir-meta" }, [
          h("span", { class: "rv-org", text: t.org_name }),
          h("span", { text: when(t.reported_at) }),
          h("span", {}, [ds.tWaited + " ", h("span", { dataset: { age: t.reported_at }, text: CCLive.age(t.reported_at) })]),
          t.rework_count ? h("span", { class: "warnc", text: ds.tRework + " " + t.rework_count }) : null,
          (t.overdue || []).length ? h("span", { class: "flag", text: L.t.overdue || "!" }) : null,
        ]),
      ]);
    }

    function incidentRow(i) {
      const rect = i.rectification;
      return h("li", { class: "rv-inc", dataset: { id: i.id } }, [
        h("a", { href: url(ds.incidentPage, i.id), text: i.number }),
        h("span", { text: i.category_name }),
        h("span", { class: "muted", text: i.org_name + " · " + i.address }),
        rect ? h("a", { href: url(ds.directivePage, rect.directive), text: ds.tRectify + " · " + (L.directive_state[rect.state] || rect.state) })
          : h("span", { class: "muted", text: ds.tNoRectify }),
      ]);
    }

    function drawQueue() {
      const tasks = state.review.tasks.results;
      el.count.textContent = String(state.review.tasks.count != null ? state.review.tasks.count : tasks.length);
      el.list.replaceChildren(...(tasks.length ? tasks.map(queueRow) : [h("li", { class: "empty muted", text: ds.tNone })]));
      const inc = state.review.incidents.results;
      el.incidents.replaceChildren(...(inc.length ? inc.map(incidentRow) : [h("li", { class: "empty muted", text: "—" })]));
    }

    // --- The selected report ------------------------------------------------------------------------------
    function reportBlock(rep, latest) {
      return h("article", { class: "rp-report decision-" + (rep.decision || "pending") + (latest ? " latest" : "") }, [
        h("header", {}, [
          h("b", { text: when(rep.created_at) }),
          " · " + ((rep.author && (rep.author.name || rep.author.username)) || ""),
          rep.decision ? h("span", { class: "tag " + (rep.decision === "approved" ? "ok" : "warnc"), text: rep.decision === "approved" ? ds.tApproved : ds.tReturned }) : null,
        ]),
        h("p", { class: "narrative fold rp-text", text: rep.text }),
        rep.checklist && rep.checklist.length ? h("ul", { class: "checklist-view" }, rep.checklist.map(function (c) {
          return h("li", { class: c.done ? "done" : "undone" }, [(c.done ? "✓ " : "✗ ") + c.action, c.note ? h("span", { class: "muted", text: " — " + c.note }) : null]);
        })) : null,
        rep.attachments && rep.attachments.length ? h("p", { class: "small rp-files" }, [ds.tFiles + "："].concat(rep.attachments.map(function (a) {
          return h("a", { href: a.url, class: "file-link", text: a.name });
        }))) : null,
        rep.reason ? h("p", { class: "small warnc", text: ds.tReasonWas + "：" + rep.reason }) : null,
      ]);
    }

    function drawDetail() {
      // What the supervisor typed survives a redraw of the same report (a live refresh, a late answer).
      const same = detail && el.body.dataset.task === String(detail.id);
      const typed = {};
      let focused = null;
      if (same) {
        for (const f of el.body.querySelectorAll(".decide [name]")) {
          typed[f.name] = f.value;
          if (document.activeElement === f) focused = f.name;
        }
      }
      el.body.dataset.task = detail && selected != null ? String(detail.id) : "";
      if (selected == null || !detail) {
        // replaceChildren writes a null as the text "null": leave the notice out instead.
        el.body.replaceChildren(...[h("p", { class: "muted pick", text: ds.tPick }), notice.text ? h("p", { class: "rv-notice " + notice.kind, role: "status", text: notice.text }) : null].filter(Boolean));
        return;
      }
      const t = detail;
      const reports = t.reports || [];
      const pending = reports.length && !reports[reports.length - 1].decision ? reports[reports.length - 1] : null;
      const parts = [
        h("header", { class: "rv-dhead" }, [
          h("span", { class: "colour-chip c-" + t.colour, text: L.colour[t.colour] || t.colour }),
          h("h2", { text: t.title }),
          h("span", { class: "state st-" + t.state, text: L.task_state[t.state] || t.state }),
          ["approved", "withdrawn"].indexOf(t.state) < 0 ? watchButton({ task: t.id }, watchedTask(t.id)) : null,
        ]),
        h("p", { class: "dir-meta" }, [
          h("b", { text: t.org_name }),
          t.rework_count ? h("span", { class: "warnc", text: ds.tRework + " " + t.rework_count }) : null,
          ...(t.directives || []).map(function (d) { return h("a", { href: url(ds.directivePage, d.id), text: d.issuer_org_name + " · " + d.title }); }),
        ]),
      ];
      for (const d of t.directives || []) {
        if (d.content) parts.push(h("p", { class: "narrative fold rv-content", text: d.content }));
      }
      if (pending) {
        parts.push(h("h3", { text: ds.tReport }));
        parts.push(reportBlock(pending, true));
      }
      const earlier = reports.filter(function (r) { return r !== pending; });
      if (earlier.length) {
        parts.push(h("details", { class: "rv-earlier" }, [h("summary", { text: ds.tEarlier + " (" + earlier.length + ")" })].concat(earlier.slice().reverse().map(function (r) { return reportBlock(r, false); }))));
      }
      if (ds.canReview && t.state === "reported") {
        const note = h("input", { name: "note", maxlength: "2000", placeholder: ds.tNote, "aria-label": ds.tNote });
        const reason = h("textarea", { name: "reason", rows: "2", maxlength: "2000", placeholder: ds.tReason, "aria-label": ds.tReason });
        const approve = h("button", { type: "button", class: "primary approve", onclick: function () { decide(t.id, "approve", { note: note.value.trim() }); }, text: ds.tApprove });
        const ret = h("button", { type: "button", class: "danger return", onclick: function () {
          if (!reason.value.trim()) { reason.classList.add("invalid"); reason.focus(); say(ds.tReasonNeeded, "bad"); return; }
          decide(t.id, "return", { reason: reason.value.trim() });
        }, text: ds.tReturn });
        note.addEventListener("keydown", function (e) { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); approve.click(); } });
        reason.addEventListener("input", function () {
          reason.classList.remove("invalid");
          if (notice.kind === "bad") { notice = { text: "", kind: "" }; const n = el.body.querySelector(".rv-notice"); if (n) n.remove(); }
        });
        reason.addEventListener("keydown", function (e) { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); ret.click(); } });
        parts.push(h("div", { class: "decide" }, [
          h("div", { class: "decide-row" }, [note, approve]),
          h("div", { class: "decide-row" }, [reason, ret]),
        ]));
      }
      if (notice.text) parts.push(h("p", { class: "rv-notice " + notice.kind, role: "status", text: notice.text }));
      el.body.replaceChildren(...parts);
      for (const name of Object.keys(typed)) {
        const f = el.body.querySelector(".decide [name=" + name + "]");
        if (f) { f.value = typed[name]; if (focused === name) f.focus(); }
      }
    }

    function say(text, kind) { notice = { text: text, kind: kind }; drawDetail(); }

    let loading = null; // the task whose detail is being fetched
    // `next`: the queue moved on by itself after a decision; the decision's notice stays until the
    // supervisor picks a report.
    async function select(id, next) {
      if (selected !== id && !next) notice = { text: "", kind: "" };
      selected = id;
      drawQueue();
      const row = el.list.querySelector('[data-id="' + id + '"]');
      if (row) row.scrollIntoView({ block: "nearest" });
      if (loading === id) return; // already on its way
      loading = id;
      const res = await CCLive.api(url(ds.taskUrl, id));
      if (loading === id) loading = null;
      if (selected !== id) return;
      detail = res.ok ? res.data : null;
      drawDetail();
    }

    async function decide(id, action, body) {
      for (const b of el.body.querySelectorAll(".decide button")) b.disabled = true;
      const res = await CCLive.api(url(ds.taskUrl, id) + (action === "return" ? "return/" : "approve/"), body);
      if (res.ok) {
        detail = res.data;
        notice = { text: (action === "return" ? ds.tReturned : ds.tApproved) + "：" + res.data.org_name + " · " + res.data.title, kind: "ok" };
        const tasks = state.review.tasks.results.filter(function (t) { return t.id !== id; });
        state.review.tasks.results = tasks;
        selected = null;
        detail = null;
        drawQueue();
        drawDetail();
        page.refresh();
        return;
      }
      if (res.status === 409) {
        const s = res.data && res.data.state;
        notice = { text: ds.tConflict + (s ? "（" + (L.task_state[s] || s) + "）" : ""), kind: "bad conflict" };
        const again = await CCLive.api(url(ds.taskUrl, id));
        detail = again.ok ? again.data : detail;
        drawDetail();
        page.refresh();
        return;
      }
      say(ds.tFailed + "：" + CCLive.errorText(res.data), "bad");
    }

    // --- Overdue ------------------------------------------------------------------------------------------
    // A note being typed under an overdue item is not wiped by a refresh: the list redraws when it is left.
    let overdueWaiting = false;
    function drawOverdue() {
      const typing = document.activeElement;
      if (typing && typing.classList.contains("od-note") && el.odList.contains(typing)) { overdueWaiting = true; return; }
      overdueWaiting = false;
      const o = state.overdue;
      el.odCount.textContent = String(o.count || 0);
      el.odGroups.replaceChildren(...(o.groups.length ? o.groups.map(function (g) {
        return h("tr", {
          class: "od-group" + (odOrg && odOrg.id === g.org ? " on" : ""), dataset: { org: g.org, kind: g.kind }, tabindex: "0",
          title: ds.tFilter,
          onclick: function () { odOrg = odOrg && odOrg.id === g.org ? null : { id: g.org, name: g.org_name }; page.refresh(); },
          onkeydown: function (e) { if (e.key === "Enter") e.currentTarget.click(); },
        }, [h("td", { text: g.org_name }), h("td", { text: g.label }), h("td", { class: "num", text: String(g.count) })]);
      }) : [h("tr", {}, [h("td", { colspan: "3", class: "muted", text: ds.tNoOverdue })])]));
      el.odFilter.hidden = !odOrg;
      if (odOrg) el.odFilter.replaceChildren(h("span", { text: odOrg.name }), h("button", { type: "button", class: "chip-x", "aria-label": "×", onclick: function () { odOrg = null; page.refresh(); }, text: "×" }));
      el.odList.replaceChildren(...o.results.map(function (d) {
        const s = d.subject || {};
        const isTask = s.type === "intel.task", isIncident = s.type === "incidents.incident";
        return h("li", { class: "od-item", dataset: { id: d.id, kind: d.kind } }, [
          h("span", { class: "flag", text: d.label }),
          s.url ? h("a", { href: s.url, text: s.title }) : h("b", { text: s.title || "" }),
          s.detail ? h("span", { class: "od-detail", text: s.detail }) : null,
          h("span", { class: "muted", text: s.org_name || d.org_name }),
          h("span", { class: "small" }, [when(d.due_at) + " · ", h("span", { dataset: { age: d.due_at }, text: CCLive.age(d.due_at) })]),
          handButtons(d, isTask ? { task: s.id } : isIncident ? { incident: s.id } : s.incident ? { incident: s.incident } : null),
        ]);
      }));
    }

    // 催办 / 督办 by hand on an overdue clock: a button opens a note under the item, Enter or "send" sends it.
    function handUrl(id, what) { return ds.handUrl.replace("/0/remind/", "/" + id + "/" + what + "/"); }
    // 盯办 takes a note too: the watch list shows it beside the item (`watchOf`: {task} or {incident}).
    function handButtons(d, watchOf) {
      const watched = watchOf && (watchOf.task ? watchedTask(watchOf.task) : watchedIncident(watchOf.incident));
      const acts = [];
      if (ds.canHand) {
        acts.push({ label: ds.tRemind, url: handUrl(d.id, "remind"), cls: "od-remind" });
        acts.push({ label: ds.tSupervise, url: handUrl(d.id, "supervise"), cls: "od-supervise" });
      }
      if (ds.canWatch && watchOf && !watched) {
        acts.push({ label: ds.tWatch, url: ds.watchUrl, cls: "watch-btn", body: function (note) { return Object.assign({ note: note }, watchOf); } });
      }
      const box = acts.length ? CCDom.noteActions(acts, { note: ds.tHandNote, send: ds.tHandSend, done: ds.tHandDone, failed: ds.tFailed }, {
        // After a refresh that waited, redraw once a click on "send" has landed.
        open: function (note) { note.addEventListener("blur", function () { if (overdueWaiting) setTimeout(drawOverdue, 400); }); },
        sent: function (res, act) { if (act.body) page.refresh(); },
      }) : null;
      return watched ? h("span", {}, [h("span", { class: "tag", text: ds.tWatched }), box]) : box;
    }

    // --- Watch list ---------------------------------------------------------------------------------------
    function drawWatch() {
      el.wCount.textContent = String(state.watch.length);
      el.wList.replaceChildren(...(state.watch.length ? state.watch.map(function (w) {
        const t = w.task, i = w.incident;
        return h("li", { class: "w-item" + (w.closed ? " closed" : ""), dataset: { id: w.id, task: t ? t.id : "", incident: i ? i.id : "" } }, [
          t ? h("span", { class: "colour-chip c-" + t.colour, text: L.colour[t.colour] || t.colour }) : h("span", { class: "tag", text: L.t.watch_incident || "" }),
          t ? h("b", { text: t.title }) : h("a", { href: url(ds.incidentPage, i.id), text: i.number }),
          h("span", { class: "muted", text: t ? t.org_name : i.address }),
          h("span", { class: "state st-" + (t ? t.state : i.state), text: t ? (L.task_state[t.state] || t.state) : ((L.incident_state || {})[i.state] || i.state) }),
          w.note ? h("span", { class: "small", text: w.note }) : null,
          h("span", { class: "muted small", text: ds.tBy + " " + ((w.by && (w.by.name || w.by.username)) || "") + " " + when(w.created_at) }),
          ds.canWatch ? h("button", { type: "button", class: "small unwatch", onclick: function () { endWatch(w.id); }, text: ds.tUnwatch }) : null,
        ]);
      }) : [h("li", { class: "empty muted", text: ds.tWatchEmpty })]));
    }

    function wsay(text, kind) { el.wMsg.hidden = !text; el.wMsg.textContent = text; el.wMsg.className = "w-msg " + (kind || ""); }

    async function addWatch(body) {
      const res = await CCLive.api(ds.watchUrl, body);
      wsay(res.ok ? "" : ds.tFailed + "：" + CCLive.errorText(res.data), res.ok ? "" : "bad");
      page.refresh();
    }
    async function endWatch(id) {
      const res = await CCLive.api(ds.watchUrl + id + "/", undefined, "DELETE");
      wsay(res.ok || res.status === 204 ? "" : ds.tFailed + "：" + CCLive.errorText(res.data), "bad");
      page.refresh();
    }
    if (el.wForm) {
      el.wForm.addEventListener("submit", async function (e) {
        e.preventDefault();
        const number = el.wForm.querySelector("[name=number]").value.trim();
        if (!number) return;
        const res = await CCLive.api(ds.incidentsUrl + "?page_size=5&q=" + encodeURIComponent(number));
        const hit = res.ok ? rows(res.data).find(function (i) { return i.number === number; }) : null;
        if (!hit) { wsay(ds.tNotFound, "bad"); return; }
        await addWatch({ incident: hit.id, note: el.wForm.querySelector("[name=note]").value.trim() });
        el.wForm.reset();
      });
    }

    // --- Live ---------------------------------------------------------------------------------------------
    function draw(s) {
      state = s;
      drawQueue();
      drawOverdue();
      drawWatch();
      const ids = state.review.tasks.results.map(function (t) { return t.id; });
      if (selected != null && ids.indexOf(selected) < 0 && detail && detail.state === "reported") {
        // Decided elsewhere meanwhile: show what it is now (the buttons go with the state).
        const id = selected;
        CCLive.api(url(ds.taskUrl, id)).then(function (res) { if (selected === id && res.ok) { detail = res.data; drawDetail(); } });
      }
      if (selected == null && ids.length) select(ids[0], true);
    }

    let refreshTimer = 0;
    const page = {
      refresh: async function () {
        const mine = ++generation;
        const data = await load();
        if (data !== null && mine === generation) draw(data);
      },
    };
    function later() { clearTimeout(refreshTimer); refreshTimer = setTimeout(page.refresh, 250); }
    CCLive.follow({
      status: root.querySelector(".live-status"),
      t: T,
      load: async function () {
        const seq = await CCLive.api(ds.liveUrl);
        if (!seq.ok) return null;
        const data = await load();
        return data === null ? null : { seq: seq.data.seq, at: seq.data.at, rows: data };
      },
      onState: function (s) { generation++; draw(s.rows); },
      onEvent: function (env) {
        const ev = env.event;
        if (/^(task|reminder|supervision|watch|directive)\./.test(ev) || ev === "deadlines.breached" || ev === "order.overdue") later();
        else if (ev === "incident.updated" && env.data && (env.data.state === "closed" || watchedIncident(env.data.id))) later();
      },
    });
    el.odKind.addEventListener("change", page.refresh);
    setInterval(function () { CCLive.tickCountdowns(root); }, 1000);

    document.addEventListener("keydown", function (e) {
      const tag = (e.target && e.target.tagName) || "";
      if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
      const tasks = state.review.tasks.results;
      const k = tasks.findIndex(function (t) { return t.id === selected; });
      if ((e.key === "ArrowDown" || e.key === "j") && tasks.length) { e.preventDefault(); select(tasks[Math.min(tasks.length - 1, k + 1)].id); }
      else if ((e.key === "ArrowUp" || e.key === "k") && tasks.length) { e.preventDefault(); select(tasks[Math.max(0, k - 1)].id); }
      else if (e.key === "r") { const r = el.body.querySelector("[name=reason]"); if (r) { e.preventDefault(); r.focus(); } }
    });
    drawDetail();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-review]");
    if (root) start(root);
  });
})();
