// The loop's pages (研交办督结): the analysis workspace (研判工作台) — directives and analyses of the area
// with their progress, the form that issues a directive, the form that writes an analysis — and a
// directive's page, each recipient's progress live. Rows come from the API; /ws/board/ (CCLive.follow)
// says when they changed (the page then fetches them again); every write goes through the API.
// Plain script, no inline code (strict CSP). Load after live.js.
(function () {
  "use strict";

  const h = CCDom.h;
  const OPEN_TASK = ["issued", "signed", "in_progress", "reported", "returned"];
  const STATE_ORDER = ["issued", "signed", "in_progress", "returned", "reported", "approved", "withdrawn"];

  function when(iso) { return CCFmt.when(iso); }  // in the server's zone (fmt.js)
  function duration(s, ds) {
    if (s >= 3600) return (Math.round(s / 360) / 10) + " " + ds.tH;
    return Math.round(s / 60) + " " + ds.tMin;
  }
  const debounce = CCDom.debounce, url = CCDom.url, rows = CCDom.results;  // dom.js

  // A page whose rows come from list endpoints: read the live `seq` first, then the rows (so no push older
  // than `seq` is missing from them); any push that concerns the page fetches the rows again.
  function livePage(root, opts) {
    const ds = root.dataset;
    let state = null;
    let generation = 0;
    async function fetchRows() {
      const mine = ++generation;
      const data = await opts.load();
      if (data === null || mine !== generation) return;
      state = data;
      opts.draw(state);
      CCLive.tickCountdowns(root);
    }
    const refresh = debounce(fetchRows, 250);
    const live = CCLive.follow({
      status: root.querySelector(".live-status"),
      t: opts.t,
      load: async function () {
        const seq = await CCLive.api(ds.liveUrl);
        if (!seq.ok) return null;
        const data = await opts.load();
        if (data === null) return null;
        return { seq: seq.data.seq, at: seq.data.at, rows: data };
      },
      onState: function (s) { generation++; state = s.rows; opts.draw(state); CCLive.tickCountdowns(root); },
      onEvent: function (env) { if (opts.concerns(env, state)) refresh(); },
    });
    setInterval(function () { CCLive.tickCountdowns(root); }, 500);
    return { refresh: fetchRows, live: live };
  }

  function colourChip(colour, L) {
    return h("span", { class: "colour-chip c-" + colour, text: (L.colour || {})[colour] || colour });
  }

  function showErrors(form, data, fallback) {
    const box = form.querySelector(".form-errors");
    for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
    if (!data) { box.textContent = fallback; box.hidden = false; return; }
    const names = { sign_within_s: "sign_min", report_within_s: "report_h" };
    const lines = [];
    for (const k of Object.keys(data)) {
      const field = form.querySelector("[name=" + (names[k] || k) + "]") || (k === "recipients" ? form.querySelector(".recipients") : null);
      if (field) field.classList.add("invalid");
      const label = field && field.closest("label") ? field.closest("label").firstChild.textContent.trim() : (field && field.querySelector("legend") ? field.querySelector("legend").firstChild.textContent.trim() : k);
      lines.push((k === "detail" ? "" : label + "：") + [].concat(data[k]).join(" "));
    }
    box.textContent = lines.join("\n");
    box.hidden = false;
  }
  function clearErrors(form) {
    const box = form.querySelector(".form-errors");
    if (box) { box.hidden = true; box.textContent = ""; }
    for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  }

  // --- The workspace -------------------------------------------------------------------------------------
  function workspace(root) {
    const L = CCLive.readJson("loop-labels");
    const T = L.t || {};
    const defaults = CCLive.readJson("clock-defaults");
    const ds = root.dataset;
    const el = {
      dirs: root.querySelector(".dir-list"),
      dirState: root.querySelector("[name=dir-state]"),
      dirQ: root.querySelector("[name=dir-q]"),
      analyses: root.querySelector(".an-list"),
      issue: root.querySelector(".issue-form"),
      analysis: root.querySelector(".analysis-form"),
    };
    let orgs = [];
    let justIssued = null; // the directive this page issued last: highlighted in the list

    async function load() {
      const q = new URLSearchParams({ page_size: "100" });
      if (el.dirState.value) q.set("state", el.dirState.value);
      if (el.dirQ.value.trim()) q.set("q", el.dirQ.value.trim());
      const [d, a] = await Promise.all([CCLive.api(ds.directivesUrl + "?" + q), CCLive.api(ds.analysesUrl + "?page_size=100")]);
      if (!d.ok || !a.ok) return null;
      return { directives: rows(d.data), analyses: rows(a.data) };
    }

    function progress(counts) {
      let total = 0;
      for (const k of Object.keys(counts || {})) total += counts[k];
      const bar = h("span", { class: "progress-bar small-bar" }, STATE_ORDER.filter(function (s) { return counts && counts[s]; }).map(function (s) {
        const seg = h("i", { class: "seg st-" + s, title: (L.task_state[s] || s) + " " + counts[s] });
        seg.style.flexGrow = String(counts[s]);
        return seg;
      }));
      return { total: total, bar: bar };
    }

    function directiveRow(d) {
      const p = progress(d.counts);
      const approved = (d.counts && d.counts.approved) || 0;
      return h("li", { class: "dir c-" + d.colour + " ds-" + d.state + (d.id === justIssued ? " fresh" : ""), dataset: { id: d.id, title: d.title } }, [
        h("div", { class: "dir-top" }, [
          colourChip(d.colour, L),
          h("a", { class: "dir-title", href: url(ds.directivePage, d.id), text: d.title }),
          h("span", { class: "state ds-" + d.state, text: L.directive_state[d.state] || d.state }),
        ]),
        h("div", { class: "dir-meta" }, [
          h("span", { text: d.issuer_org_name }),
          h("span", { text: when(d.issued_at) }),
          h("span", { text: L.source[d.source] || d.source }),
          h("span", { class: "dir-count", text: approved + " / " + p.total + " " + ds.tProgress }),
        ]),
        p.bar,
        h("div", { class: "dir-states" }, STATE_ORDER.filter(function (s) { return s !== "approved" && d.counts && d.counts[s]; }).map(function (s) {
          return h("span", { class: "mini st-" + s, text: (L.task_state[s] || s) + " " + d.counts[s] });
        })),
      ]);
    }

    function analysisRow(a) {
      return h("li", { class: "an as-" + a.state, dataset: { id: a.id } }, [
        h("div", { class: "dir-top" }, [
          h("b", { class: "an-title", text: a.title }),
          h("span", { class: "state as-" + a.state, text: L.analysis_state[a.state] || a.state }),
        ]),
        a.body ? h("p", { class: "an-body", text: a.body }) : null,
        h("div", { class: "dir-meta" }, [
          h("span", { text: (a.author && (a.author.name || a.author.username)) || "" }),
          h("span", { text: a.org_name }),
          h("span", { text: when(a.published_at || a.created_at) }),
          h("span", { text: (a.incidents || []).length + " " + ds.tIncidentsLinked }),
          (a.posts || []).length ? h("span", { class: "an-posts", text: a.posts.length + " " + ds.tPostsLinked }) : null,
          a.source && a.source.url ? h("a", { class: "an-source", href: a.source.url, text: ds.tFrom + "：" + (a.source.title || a.source.kind) }) : null,
          h("span", { text: (a.directives || []).length + " " + ds.tDirectivesN }),
          a.state === "draft" && ds.canAnalyse ? h("button", { type: "button", class: "small", onclick: function () { publish(a.id); }, text: ds.tPublish }) : null,
          a.state === "published" && ds.canIssue ? h("button", { type: "button", class: "small", onclick: function () { issueFrom(a); }, text: ds.tIssueFrom }) : null,
        ]),
      ]);
    }

    // /intel/?analysis=ID (a 研判 just opened from 网情): that analysis is marked and scrolled to, once.
    let focusAnalysis = parseInt(new URLSearchParams(window.location.search).get("analysis") || "", 10) || null;

    function draw(state) {
      el.dirs.replaceChildren(...(state.directives.length ? state.directives.map(directiveRow) : [h("li", { class: "empty muted", text: ds.tNone })]));
      el.analyses.replaceChildren(...(state.analyses.length ? state.analyses.map(analysisRow) : [h("li", { class: "empty muted", text: ds.tNone })]));
      if (focusAnalysis) {
        const row = el.analyses.querySelector('[data-id="' + focusAnalysis + '"]');
        if (row) { row.classList.add("focus"); row.scrollIntoView({ block: "center" }); focusAnalysis = null; }
      } else {
        const marked = new URLSearchParams(window.location.search).get("analysis");
        const row = marked && el.analyses.querySelector('[data-id="' + marked + '"]');
        if (row) row.classList.add("focus");
      }
      if (el.issue) {
        const select = el.issue.querySelector("[name=analysis]");
        const keep = select.value;
        select.replaceChildren(h("option", { value: "", text: "—" }), ...state.analyses.filter(function (a) { return a.state === "published"; }).map(function (a) {
          return h("option", { value: String(a.id), text: a.title });
        }));
        select.value = keep;
      }
    }

    const page = livePage(root, {
      t: L.t,
      load: load,
      draw: draw,
      concerns: function (env) { return /^(directive|task|analysis)\./.test(env.event); },
    });
    el.dirState.addEventListener("change", page.refresh);
    el.dirQ.addEventListener("input", debounce(page.refresh, 300));

    async function publish(id) {
      const res = await CCLive.api(ds.analysesUrl + id + "/publish/", {});
      if (!res.ok) window.alert(ds.tFailed + ": " + CCLive.errorText(res.data));
      page.refresh();
    }

    function issueFrom(a) {
      if (!el.issue) return;
      el.issue.querySelector("[name=analysis]").value = String(a.id);
      const title = el.issue.querySelector("[name=title]");
      if (!title.value) title.value = a.title;
      const content = el.issue.querySelector("[name=content]");
      if (!content.value && a.body) content.value = a.body;
      title.focus();
      el.issue.scrollIntoView({ block: "start" });
    }

    // --- Issue a directive ----------------------------------------------------------------------------
    function setClockDefaults(force) {
      if (!el.issue) return;
      const colour = (el.issue.querySelector("[name=colour]:checked") || {}).value || "yellow";
      const d = defaults[colour];
      const sign = el.issue.querySelector("[name=sign_min]"), report = el.issue.querySelector("[name=report_h]");
      if (force || !sign.dataset.touched) sign.value = String(Math.round(d.sign_s / 60));
      if (force || !report.dataset.touched) report.value = String(Math.round(d.report_s / 360) / 10);
    }

    function drawOrgs(filter) {
      const tree = el.issue.querySelector(".org-tree");
      const checked = new Set(Array.from(tree.querySelectorAll("input:checked")).map(function (i) { return i.value; }));
      const own = parseInt(ds.org, 10);
      const police = orgs.filter(function (o) { return o.kind === "police" && o.id !== own; });
      const minDepth = Math.min.apply(null, police.map(function (o) { return o.depth; }).concat([99]));
      const f = (filter || "").trim();
      tree.replaceChildren(...police.filter(function (o) { return !f || o.name.indexOf(f) >= 0; }).map(function (o) {
        const box = h("input", { type: "checkbox", name: "recipient", value: String(o.id), checked: checked.has(String(o.id)) });
        const below = police.filter(function (c) { return c.parent === o.id && c.level === "station"; });
        return h("li", { class: "org-node lv-" + o.level + " d" + Math.min(o.depth - minDepth, 4) }, [
          h("label", {}, [box, " " + o.name]),
          below.length ? h("button", {
            type: "button", class: "small link-like", title: ds.tStationsBelow,
            onclick: function () {
              for (const c of below) { const i = tree.querySelector("input[value='" + c.id + "']"); if (i) i.checked = true; }
              countRecipients();
            },
            text: "＋" + ds.tStationsBelow,
          }) : null,
        ]);
      }));
      countRecipients();
    }

    function countRecipients() {
      const n = el.issue.querySelectorAll(".org-tree input:checked").length;
      el.issue.querySelector(".rcount").textContent = n ? String(n) : "0";
    }

    async function submitIssue(e) {
      e.preventDefault();
      const f = el.issue;
      clearErrors(f);
      const recipients = Array.from(f.querySelectorAll(".org-tree input:checked")).map(function (i) { return parseInt(i.value, 10); });
      const colour = (f.querySelector("[name=colour]:checked") || {}).value || "yellow";
      const actions = f.querySelector("[name=actions]").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
      const signMin = parseFloat(f.querySelector("[name=sign_min]").value);
      const reportH = parseFloat(f.querySelector("[name=report_h]").value);
      const body = {
        title: f.querySelector("[name=title]").value.trim(),
        content: f.querySelector("[name=content]").value.trim(),
        colour: colour,
        recipients: recipients,
        actions: actions,
        subject: f.querySelector("[name=subject]").value.trim(),
      };
      if (isFinite(signMin)) body.sign_within_s = Math.round(signMin * 60);
      if (isFinite(reportH)) body.report_within_s = Math.round(reportH * 3600);
      const analysis = f.querySelector("[name=analysis]").value;
      if (analysis) body.analysis = parseInt(analysis, 10);
      const files = f.querySelector("[name=files]").files;
      const button = f.querySelector("button[type=submit]");
      button.disabled = true;
      let res;
      if (files && files.length) {
        const fd = new FormData();
        for (const k of ["title", "content", "colour", "subject"]) fd.append(k, body[k]);
        for (const r of recipients) fd.append("recipients", String(r));
        for (const a of actions) fd.append("actions", a);
        if (body.sign_within_s) fd.append("sign_within_s", String(body.sign_within_s));
        if (body.report_within_s) fd.append("report_within_s", String(body.report_within_s));
        if (body.analysis) fd.append("analysis", String(body.analysis));
        for (const file of files) fd.append("files", file);
        res = await CCLive.postForm(ds.directivesUrl, fd);
      } else {
        res = await CCLive.api(ds.directivesUrl, body);
      }
      button.disabled = false;
      if (!res.ok) { showErrors(f, res.data, ds.tFailed + " (" + res.status + ")"); return; }
      f.reset();
      for (const i of f.querySelectorAll("[data-touched]")) delete i.dataset.touched;
      setClockDefaults(true);
      drawOrgs("");
      const msg = f.querySelector(".form-errors");
      msg.hidden = false;
      msg.classList.add("ok-text");
      msg.replaceChildren(ds.tIssued + "：", h("a", { href: url(ds.directivePage, res.data.id), text: res.data.title }));
      setTimeout(function () { msg.classList.remove("ok-text"); }, 4000);
      el.dirState.value = "issued";
      justIssued = res.data.id;
      page.refresh();
    }

    if (el.issue) {
      for (const r of el.issue.querySelectorAll("[name=colour]")) r.addEventListener("change", function () { setClockDefaults(false); });
      for (const n of ["sign_min", "report_h"]) el.issue.querySelector("[name=" + n + "]").addEventListener("input", function (e) { e.target.dataset.touched = "1"; });
      setClockDefaults(true);
      el.issue.querySelector(".org-filter").addEventListener("input", function (e) { drawOrgs(e.target.value); });
      el.issue.querySelector(".org-tree").addEventListener("change", countRecipients);
      el.issue.addEventListener("submit", submitIssue);
      CCLive.api(ds.orgsUrl + "?page_size=500").then(function (res) { orgs = res.ok ? rows(res.data) : []; drawOrgs(""); });
    }

    // --- Write an analysis ----------------------------------------------------------------------------
    const linked = new Map();
    function drawLinked() {
      const box = el.analysis.querySelector(".linked-incidents");
      box.replaceChildren(...Array.from(linked.values()).map(function (i) {
        return h("li", { class: "chip", dataset: { id: i.id } }, [
          h("span", { text: i.number }),
          h("button", { type: "button", class: "chip-x", "aria-label": "×", onclick: function () { linked.delete(i.id); drawLinked(); }, text: "×" }),
        ]);
      }));
    }
    async function searchIncidents(q) {
      const hits = el.analysis.querySelector(".incident-hits");
      if (q.trim().length < 2) { hits.hidden = true; return; }
      const res = await CCLive.api(ds.incidentsUrl + "?page_size=8&q=" + encodeURIComponent(q.trim()));
      const found = res.ok ? rows(res.data) : [];
      hits.hidden = false;
      hits.replaceChildren(...(found.length ? found.map(function (i) {
        return h("li", {}, [h("button", {
          type: "button", class: "hit",
          onclick: function () { linked.set(i.id, { id: i.id, number: i.number }); drawLinked(); hits.hidden = true; el.analysis.querySelector(".incident-search").value = ""; },
          text: i.number + " · " + (i.category_name || "") + " · " + (i.address || ""),
        })]);
      }) : [h("li", { class: "muted", text: ds.tNoMatch })]));
    }
    async function submitAnalysis(e) {
      e.preventDefault();
      const f = el.analysis;
      clearErrors(f);
      const publishIt = e.submitter ? e.submitter.name === "publish" : true;
      const body = {
        title: f.querySelector("[name=title]").value.trim(),
        body: f.querySelector("[name=body]").value,
        incidents: Array.from(linked.keys()),
      };
      for (const b of f.querySelectorAll("button")) b.disabled = true;
      let res = await CCLive.api(ds.analysesUrl, body);
      if (res.ok && publishIt) res = await CCLive.api(ds.analysesUrl + res.data.id + "/publish/", {});
      for (const b of f.querySelectorAll("button")) b.disabled = false;
      if (!res.ok) { showErrors(f, res.data, ds.tFailed + " (" + res.status + ")"); return; }
      f.reset();
      linked.clear();
      drawLinked();
      const msg = f.querySelector(".form-errors");
      msg.hidden = false;
      msg.classList.add("ok-text");
      msg.textContent = (publishIt ? ds.tPublished : ds.tSaved) + "：" + res.data.title;
      setTimeout(function () { msg.classList.remove("ok-text"); msg.hidden = true; }, 4000);
      page.refresh();
    }
    if (el.analysis) {
      el.analysis.querySelector(".incident-search").addEventListener("input", debounce(function (e) { searchIncidents(e.target.value); }, 250));
      el.analysis.addEventListener("submit", submitAnalysis);
    }

    // --- Keys -----------------------------------------------------------------------------------------
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
        const form = e.target && e.target.closest ? e.target.closest("form.loop-form") : null;
        if (form) { e.preventDefault(); form.requestSubmit(form.querySelector("button.primary") || undefined); }
        return;
      }
      const tag = (e.target && e.target.tagName) || "";
      if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "n" && el.issue) { e.preventDefault(); el.issue.querySelector("[name=title]").focus(); }
      else if (e.key === "a" && el.analysis) { e.preventDefault(); el.analysis.querySelector("[name=title]").focus(); }
      else if (e.key === "/") { e.preventDefault(); el.dirQ.focus(); }
    });
  }

  // --- A directive's page --------------------------------------------------------------------------------
  function directivePage(root) {
    const L = CCLive.readJson("loop-labels");
    const ds = root.dataset;
    const id = parseInt(ds.directive, 10);
    const watched = new Map(); // task id -> watch id
    let message = "";
    let taskIds = new Set();

    async function load() {
      const [d, w] = await Promise.all([
        CCLive.api(ds.detailUrl),
        ds.canWatch ? CCLive.api(ds.watchUrl + "?page_size=500") : Promise.resolve({ ok: true, data: [] }),
      ]);
      if (!d.ok) return null;
      watched.clear();
      for (const x of rows(w.data)) if (x.task) watched.set(x.task.id, x.id);
      return d.data;
    }

    function cell(at, due, running, late) {
      if (at) return h("td", { class: late ? "late-done" : "" }, [when(at), late ? h("span", { class: "flag-soft", text: ds.tLate }) : null]);
      if (running && due) return h("td", {}, [h("span", { class: "clk", dataset: { due: due } }, CCLive.countdown(Date.parse(due) - CCLive.now())), late ? h("span", { class: "flag", text: ds.tLate }) : null]);
      return h("td", { class: "muted", text: "—" });
    }

    function recipientRow(p) {
      const late = p.overdue || [];
      const open = OPEN_TASK.indexOf(p.state) >= 0 && !p.withdrawn;
      const watchId = watched.get(p.task);
      return h("tr", { class: "st-" + p.state + (late.length ? " overdue" : ""), dataset: { org: p.org, orgName: p.org_name, task: p.task, state: p.state } }, [
        h("td", {}, [h("b", { text: p.org_name }), p.merged ? h("span", { class: "muted small", text: " · " + ds.tMerged }) : null]),
        h("td", {}, [h("span", { class: "state st-" + p.state, text: L.task_state[p.state] || p.state })]),
        cell(p.signed_at, p.sign_due_at, p.state === "issued", late.indexOf("intel.task.sign") >= 0),
        cell(p.reported_at, p.report_due_at, ["signed", "in_progress", "returned"].indexOf(p.state) >= 0, late.indexOf("intel.task.report") >= 0),
        h("td", { text: p.approved_at ? when(p.approved_at) : "—" }),
        h("td", { class: p.rework_count ? "warnc" : "muted", text: String(p.rework_count) }),
        h("td", {}, ds.canWatch && open ? (watchId ? h("span", { class: "tag", text: ds.tWatched }) : h("button", {
          type: "button", class: "small watch-btn", onclick: function () { watch(p.task); }, text: ds.tWatch,
        })) : null),
      ]);
    }

    function draw(d) {
      taskIds = new Set((d.progress || []).map(function (p) { return p.task; }));
      const chip = root.querySelector(".dv-head .colour-chip");
      chip.className = "colour-chip c-" + d.colour;
      chip.textContent = L.colour[d.colour] || d.colour;
      root.querySelector(".dv-title").textContent = d.title;
      const st = root.querySelector(".dv-state");
      st.className = "dv-state state ds-" + d.state;
      st.textContent = L.directive_state[d.state] || d.state;
      root.dataset.state = d.state;
      const dl = root.querySelector(".dv-facts");
      const pairs = [
        [L.t.task_issued_by, d.issuer_org_name + (d.issuer ? " · " + (d.issuer.name || d.issuer.username || "") : "")],
        [L.t.issued_at || "", when(d.issued_at)],
        [L.t.source || "", L.source[d.source] || d.source],
        [L.t.task_sign_by, duration(d.sign_within_s, ds)],
        [L.t.task_report_by, duration(d.report_within_s, ds)],
      ];
      if (d.subject) pairs.push([L.t.subject || "", d.subject]);
      if (d.closed_at) pairs.push([L.t.closed_at || "", when(d.closed_at)]);
      if (d.withdrawn_at) pairs.push([L.t.withdrawn_at || "", when(d.withdrawn_at) + (d.withdraw_reason ? " · " + d.withdraw_reason : "")]);
      dl.replaceChildren(...[].concat.apply([], pairs.map(function (p) { return [h("dt", { text: p[0] }), h("dd", { text: p[1] })]; })));
      root.querySelector(".dv-content").textContent = d.content;
      root.querySelector(".dv-actions").replaceChildren(...(d.actions.length ? d.actions.map(function (a) { return h("li", { text: a }); }) : [h("li", { class: "muted", text: L.t.task_no_actions })]));
      root.querySelector(".dv-files").replaceChildren(...(d.attachments || []).map(function (a) {
        return h("a", { class: "file-link", href: a.url, text: a.name });
      }));
      const link = root.querySelector(".report-link");
      link.textContent = d.state === "closed" ? L.t.closure_report : L.t.closure_preview;
      link.classList.toggle("primary", d.state === "closed");
      const wf = root.querySelector(".withdraw-form");
      if (wf) wf.hidden = (d.allowed || []).indexOf("withdraw") < 0;
      const prog = d.progress || [];
      const approved = prog.filter(function (p) { return p.approved_at; }).length;
      const live = prog.filter(function (p) { return !p.withdrawn; });
      root.querySelector(".dv-summary").textContent = approved + " / " + live.length + " " + (L.t.approved_n || "");
      const counts = {};
      for (const p of live) { const s = p.approved_at ? "approved" : p.state; counts[s] = (counts[s] || 0) + 1; }
      root.querySelector(".dv-progress-card .progress-bar").replaceChildren(...STATE_ORDER.filter(function (s) { return counts[s]; }).map(function (s) {
        const seg = h("i", { class: "seg st-" + s, title: (L.task_state[s] || s) + " " + counts[s] }, [h("span", { text: (L.task_state[s] || s) + " " + counts[s] })]);
        seg.style.flexGrow = String(counts[s]);
        return seg;
      }));
      root.querySelector(".dv-table tbody").replaceChildren(...prog.map(recipientRow));
      const msg = root.querySelector(".dv-msg");
      msg.hidden = !message;
      msg.textContent = message;
    }

    const page = livePage(root, {
      t: L.t,
      load: load,
      draw: draw,
      concerns: function (env) {
        const d = env.data || {};
        if (/^directive\./.test(env.event)) return d.id === id;
        if (/^task\./.test(env.event)) {
          const t = env.event === "task.overdue" ? d.task : d;
          return !!t && ((t.directives || []).indexOf(id) >= 0 || taskIds.has(t.id));
        }
        if (env.event === "reminder.created" || env.event === "supervision.ordered") return taskIds.has(d.task);
        if (/^watch\./.test(env.event)) return taskIds.has(d.task);
        return false;
      },
    });

    async function watch(taskId) {
      const res = await CCLive.api(ds.watchUrl, { task: taskId });
      message = res.ok ? "" : ds.tFailed + ": " + CCLive.errorText(res.data);
      page.refresh();
    }

    const wf = root.querySelector(".withdraw-form");
    if (wf) {
      wf.addEventListener("submit", async function (e) {
        e.preventDefault();
        const reason = wf.querySelector("[name=reason]").value.trim();
        const res = await CCLive.api(ds.withdrawUrl, { reason: reason });
        message = res.ok ? "" : ds.tFailed + ": " + CCLive.errorText(res.data);
        page.refresh();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const ws = document.querySelector("[data-workspace]");
    if (ws) workspace(ws);
    const dv = document.querySelector("[data-directive]");
    if (dv) directivePage(dv);
  });
})();
