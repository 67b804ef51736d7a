// The station inbox's directive tasks (指令任务) and reminders (催办 / 督办): the second tab of the inbox.
// A task is signed, started and reported here (text, the checklist answered, files); the reviewer's
// reason and the number of returns show on the card; reminders and 督办 orders addressed to the station
// appear above the tabs with a sound, the same way new orders do, and so does feedback a supervisor returned
// for rectification (整改), linking to its form. Rows: the inbox state's `tasks`, `reminders` and
// `feedback_returns` (GET /api/board/inbox/); live: the pushes inbox.js hands over (`apply`); actions: the tasks
// API, the reminders API. Load after live.js, before inbox.js.
(function () {
  "use strict";

  const h = CCDom.h;
  const OPEN = ["issued", "signed", "in_progress", "reported", "returned"];
  const RANK = { issued: 0, returned: 1, signed: 2, in_progress: 3, reported: 4 };
  // A task's running clock by state, and the states in which a broken clock is still not met.
  const CLOCK = { issued: "intel.task.sign", signed: "intel.task.report", in_progress: "intel.task.report", returned: "intel.task.report" };
  const DUE = { "intel.task.sign": "sign_due_at", "intel.task.report": "report_due_at" };
  const RUNS_IN = {
    "intel.task.sign": ["issued"],
    "intel.task.report": ["signed", "in_progress", "returned"],
    "intel.task.escalate": ["issued", "signed", "in_progress", "returned"],
  };
  // Fields of a push (intel payloads.task_payload) and of an action's answer that replace the row's.
  const PAYLOAD = ["org", "org_name", "title", "colour", "subject", "state", "version", "rework_count", "issued_at",
    "sign_due_at", "report_due_at", "signed_at", "started_at", "reported_at", "approved_at", "withdrawn_at", "assignee"];
  // Pushes that bring what a payload does not carry (the content, the reviewer's reason): reload the inbox.
  const REFILL = ["task.issued", "task.merged", "task.returned", "task.updated", "task.withdrawn"];

  function when(iso) { return CCFmt.when(iso); }  // in the server's zone (fmt.js)

  function create(root, opts) {
    const L = opts.labels;
    const t = L.t || {};
    const urls = L.urls || {};
    const tasks = new Map();
    const reminders = new Map();
    let feedbackReturns = [];  // supervision's `feedback_returns`: feedback returned for 整改, not rectified yet
    const cards = new Map();
    const fresh = new Set();
    const el = {
      panel: root.querySelector("[data-panel=tasks]"),
      list: root.querySelector(".ib-tasks"),
      done: root.querySelector(".ib-tasks-done ol"),
      doneBox: root.querySelector(".ib-tasks-done"),
      doneCount: root.querySelector(".ib-tasks-done .count"),
      badge: root.querySelector("[data-tab=tasks] .badge"),
      reminders: root.querySelector(".ib-reminders"),
    };
    function taskUrl(id) { return CCDom.url(urls.task || "/api/tasks/0/", id); }
    function reminderUrl(id) { return CCDom.url(urls.reminder || "/api/reminders/0/", id); }

    function merge(id, data) {
      const old = tasks.get(id);
      if (old && old.version != null && data.version != null && data.version < old.version) return old;
      const row = Object.assign({}, old || { actions: [], carried: [], overdue: [], can_act: false }, data);
      row.overdue = (row.overdue || []).filter(function (k) { return RUNS_IN[k] && RUNS_IN[k].indexOf(row.state) >= 0; });
      tasks.set(id, row);
      return row;
    }

    // --- Reminders ----------------------------------------------------------------------------------------
    function drawReminders() {
      const open = Array.from(reminders.values()).filter(function (r) { return !r.acknowledged_at; })
        .sort(function (a, b) { return b.id - a.id; });
      el.reminders.hidden = !open.length && !feedbackReturns.length;
      el.reminders.replaceChildren(...feedbackReturns.map(function (f) {
        return h("li", { class: "ib-reminder ib-feedback-return", dataset: { review: f.id, feedback: f.feedback } }, [
          h("b", { class: "rm-kind", text: t.feedback_return }),
          h("span", { class: "rm-text" }, [
            h("span", { class: "num", text: f.incident_number }), " " + f.address + (f.note ? "：" + f.note : ""),
          ]),
          f.due_at ? h("time", { text: (t.rectify_by || "") + " " + when(f.due_at) }) : null,
          h("a", { class: "rm-ack", href: f.url, text: t.rectify }),
        ]);
      }), ...open.map(function (r) {
        const sup = r.level === 2;
        return h("li", { class: "ib-reminder" + (sup ? " sup" : ""), dataset: { id: r.id, task: r.task || "", level: r.level } }, [
          h("b", { class: "rm-kind", text: sup ? t.supervision : t.reminder }),
          h("span", { class: "rm-text", text: r.text }),
          h("time", { text: CCLive.clockTime(r.created_at) }),
          r.can_ack !== false ? h("button", { type: "button", class: "rm-ack", onclick: function () { acknowledge(r.id); }, text: t.acknowledge }) : null,
        ]);
      }));
    }

    async function acknowledge(id) {
      const res = await CCLive.api(reminderUrl(id) + "acknowledge/", {});
      if (res.ok) {
        const r = reminders.get(id);
        if (r) r.acknowledged_at = res.data.acknowledged_at || new Date().toISOString();
        drawReminders();
        draw();
      }
    }

    // --- Cards --------------------------------------------------------------------------------------------
    function clockLine(task) {
      const kind = CLOCK[task.state];
      const due = kind ? task[DUE[kind]] : null;
      if (!due) return null;
      return h("div", { class: "ib-clock" }, [
        h("span", { class: "clk-label", text: L.task_clock[kind] || kind }),
        h("span", { class: "clk big", dataset: { due: due } }, CCLive.countdown(Date.parse(due) - CCLive.now())),
      ]);
    }

    function remindersOf(task) {
      return Array.from(reminders.values()).filter(function (r) { return r.task === task.id; });
    }

    function body(task) {
      const late = (task.overdue || []).length > 0;
      const rs = remindersOf(task);
      const sup = rs.some(function (r) { return r.level === 2; });
      const parts = [
        h("div", { class: "ib-top" }, [
          h("span", { class: "colour-chip c-" + task.colour, text: (L.colour || {})[task.colour] || task.colour }),
          h("span", { class: "cat task-title", text: task.title }),
          rs.length ? h("span", { class: "flag" + (sup ? " sup" : ""), text: sup ? t.supervision : t.reminder }) : (late ? h("span", { class: "flag", text: t.breach }) : null),
          h("span", { class: "ib-state tst-" + task.state, text: (L.task_state || {})[task.state] || task.state }),
        ]),
        clockLine(task),
        task.assignee ? h("div", { class: "ib-meta ib-assignee", text: (t.task_assignee || "") + " " + task.assignee.name }) : null,
      ];
      if (task.rework_count && (task.state === "returned" || task.state === "in_progress") && task.last_return_reason) {
        parts.push(h("div", { class: "ib-returned" }, [
          h("b", { text: (t.task_returned_n || "%(n)s").replace("%(n)s", String(task.rework_count)) }),
          h("p", { class: "return-reason", text: task.last_return_reason }),
        ]));
      }
      for (const d of task.carried || []) {
        parts.push(h("div", { class: "ib-directive" }, [
          h("div", { class: "ib-meta" }, [h("span", { text: t.task_issued_by + " " + d.issuer_org_name }), h("span", { text: when(d.issued_at) })]),
          h("p", { class: "ib-narr", text: d.content }),
          (d.attachments || []).length ? h("p", { class: "ib-files" }, d.attachments.map(function (a) { return h("a", { href: a.url, text: a.name }); })) : null,
        ]));
      }
      if ((task.actions || []).length && task.state !== "in_progress") {
        parts.push(h("ul", { class: "ib-checklist" }, task.actions.map(function (a) { return h("li", { text: a }); })));
      }
      if (task.state === "reported") parts.push(h("p", { class: "ib-note waiting", text: t.task_waiting_review }));
      return h("div", { class: "ib-body" }, parts);
    }

    function actions(task, card) {
      const box = h("div", { class: "ib-actions" });
      if (!task.can_act) return box;
      const act = function (name, label, cls) {
        return h("button", { type: "button", class: cls, dataset: { act: name }, onclick: function () { run(task.id, name, {}); }, text: label });
      };
      if (task.state === "issued") box.append(act("sign", t.task_sign, "big primary sign"));
      else if (task.state === "signed") box.append(act("start", t.task_start, "big primary arrive"));
      else if (task.state === "returned") box.append(act("start", t.task_rework, "big primary arrive"));
      else if (task.state === "in_progress") {
        box.append(h("button", { type: "button", class: "big primary feedback", onclick: function () { toggleReport(card, task); }, text: t.task_report }));
      }
      return box;
    }

    function toggleReport(card, task) {
      let form = card.querySelector(".ib-report");
      if (form) { form.hidden = !form.hidden; if (!form.hidden) form.querySelector("textarea").focus(); return; }
      const text = h("textarea", { name: "text", rows: "3", required: true, maxlength: "20000", placeholder: t.task_report_placeholder, "aria-label": t.task_report_text });
      const checks = (task.actions || []).map(function (a, k) {
        const box = h("input", { type: "checkbox", name: "done", value: a, checked: true, id: "ck-" + task.id + "-" + k });
        const note = h("input", { name: "note", maxlength: "2000", placeholder: t.task_note, "aria-label": a + " " + t.task_note });
        return h("li", { class: "ck", dataset: { action: a } }, [h("label", { class: "ck-label", for: "ck-" + task.id + "-" + k }, [box, " " + a]), note]);
      });
      const files = h("input", { type: "file", name: "files", multiple: true, "aria-label": t.task_files });
      form = h("form", { class: "ib-form ib-report" }, [
        h("label", {}, [t.task_report_text, text]),
        checks.length ? h("fieldset", { class: "ib-ck" }, [h("legend", { text: t.task_checklist }), h("ul", {}, checks)]) : h("p", { class: "muted", text: t.task_no_actions }),
        h("label", {}, [t.task_files, files]),
        h("button", { type: "submit", class: "big primary", text: t.task_submit_report }),
      ]);
      form.addEventListener("submit", async function (e) {
        e.preventDefault();
        if (!text.value.trim()) { text.focus(); return; }
        const checklist = Array.from(form.querySelectorAll("li.ck")).map(function (li) {
          return { action: li.dataset.action, done: li.querySelector("[name=done]").checked, note: li.querySelector("[name=note]").value.trim() };
        });
        const fd = new FormData();
        fd.append("text", text.value.trim());
        fd.append("checklist", JSON.stringify(checklist));
        for (const f of files.files) fd.append("files", f);
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        button.textContent = t.uploading;
        const res = await CCLive.postForm(taskUrl(task.id) + "report/", fd);
        button.disabled = false;
        button.textContent = t.task_submit_report;
        answered(task.id, res);
        if (res.ok) form.remove();
      });
      card.querySelector(".ib-extra").append(form);
      text.focus();
    }

    function say(id, text, kind) {
      const card = cards.get(id);
      const msg = card && card.querySelector(".ib-msg");
      if (!msg) return;
      msg.textContent = text;
      msg.className = "ib-msg " + (kind || "");
      msg.hidden = !text;
    }

    function answered(id, res) {
      if (res.ok) {
        const patch = {};
        for (const f of PAYLOAD.concat(["last_return_reason", "overdue"])) if (f in res.data) patch[f] = res.data[f];
        merge(id, patch);
        say(id, "", "");
        draw();
      } else {
        say(id, t.failed + "：" + CCLive.errorText(res.data), "bad");
      }
    }

    async function run(id, action, payload) {
      fresh.delete(id);
      const card = cards.get(id);
      if (card) for (const b of card.querySelectorAll(".ib-actions button")) b.disabled = true;
      const res = await CCLive.api(taskUrl(id) + action + "/", payload);
      if (card) for (const b of card.querySelectorAll(".ib-actions button")) b.disabled = false;
      answered(id, res);
    }

    function card(task) {
      let c = cards.get(task.id);
      if (!c) {
        c = h("li", { class: "ib-order ib-task" }, [h("div", { class: "ib-slot" }), h("div", { class: "ib-extra" }), h("p", { class: "ib-msg", role: "status", hidden: true })]);
        c.addEventListener("pointerdown", function () { if (fresh.delete(task.id)) c.classList.remove("fresh"); });
        cards.set(task.id, c);
      }
      const rs = remindersOf(task);
      const key = [task.version, (task.overdue || []).join(","), rs.length, (task.carried || []).length, task.last_return_reason || "", task.can_act].join("|");
      c.className = "ib-order ib-task c-" + task.colour + " tst-" + task.state + ((task.overdue || []).length || rs.length ? " overdue" : "") + (fresh.has(task.id) ? " fresh" : "");
      c.dataset.id = task.id;
      c.dataset.state = task.state;
      c.dataset.title = task.title;
      if (c.dataset.key !== key) {
        c.dataset.key = key;
        c.querySelector(".ib-slot").replaceChildren(body(task), actions(task, c));
        if (task.state !== "in_progress") { const f = c.querySelector(".ib-report"); if (f) f.remove(); }
      }
      return c;
    }

    function draw() {
      const all = Array.from(tasks.values());
      const open = all.filter(function (x) { return OPEN.indexOf(x.state) >= 0; }).sort(function (a, b) {
        const da = Date.parse(a[DUE[CLOCK[a.state]]]) || Infinity, db = Date.parse(b[DUE[CLOCK[b.state]]]) || Infinity;
        return RANK[a.state] - RANK[b.state] || da - db || b.id - a.id;
      });
      const closed = all.filter(function (x) { return OPEN.indexOf(x.state) < 0; }).sort(function (a, b) { return b.id - a.id; });
      CCDom.place(el.list, open.length ? open.map(card) : [h("li", { class: "ib-empty", text: t.tasks_empty })]);
      CCDom.place(el.done, closed.map(card));
      el.doneCount.textContent = String(closed.length);
      el.doneBox.hidden = !closed.length;
      const waiting = open.filter(function (x) { return x.can_act && ["issued", "signed", "in_progress", "returned"].indexOf(x.state) >= 0; }).length;
      el.badge.textContent = String(open.length);
      const unacked = Array.from(reminders.values()).some(function (r) { return !r.acknowledged_at; });
      el.badge.classList.toggle("hot", unacked || open.some(function (x) { return x.state === "issued" || x.state === "returned"; }));
      el.badge.title = String(waiting);
      for (const id of Array.from(cards.keys())) if (!tasks.has(id)) cards.delete(id);
    }

    // --- State and pushes ---------------------------------------------------------------------------------
    function load(taskRows, reminderRows, feedbackRows) {
      feedbackReturns = feedbackRows || [];
      const seen = new Set();
      for (const r of taskRows || []) {
        seen.add(r.id);
        // A state fetched before an action's answer landed is older than the row: it never goes back.
        const old = tasks.get(r.id);
        if (!(old && old.version != null && r.version != null && r.version < old.version)) tasks.set(r.id, Object.assign({}, r));
      }
      for (const id of Array.from(tasks.keys())) if (!seen.has(id)) tasks.delete(id);
      reminders.clear();
      for (const r of reminderRows || []) reminders.set(r.id, Object.assign({}, r));
      for (const c of cards.values()) c.dataset.key = "";
      drawReminders();
      draw();
    }

    // apply(envelope) -> "refill" when the inbox should be fetched again (a push without content), true when
    // handled, false when not the tasks' business.
    function apply(env) {
      const d = env.data || {};
      const ev = env.event;
      if (ev === "task.overdue") {
        const row = merge(d.task.id, d.task);
        if (row.overdue.indexOf(d.clock) < 0 && RUNS_IN[d.clock] && RUNS_IN[d.clock].indexOf(row.state) >= 0) row.overdue.push(d.clock);
        draw();
        return true;
      }
      if (ev.indexOf("task.") === 0) {
        const isNew = !tasks.has(d.id);
        const patch = {};
        for (const f of PAYLOAD) if (f in d) patch[f] = d[f];
        merge(d.id, patch);
        if (isNew && ev === "task.issued") {
          fresh.add(d.id);
          CCLive.sound.play("order");
          if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        }
        draw();
        return isNew || REFILL.indexOf(ev) >= 0 ? "refill" : true;
      }
      if (ev === "reminder.created") {
        const isNew = !reminders.has(d.id);
        reminders.set(d.id, Object.assign({}, reminders.get(d.id) || {}, d));
        if (isNew) {
          CCLive.sound.play("alert");
          if (navigator.vibrate) navigator.vibrate([300, 100, 300, 100, 300]);
        }
        drawReminders();
        for (const c of cards.values()) c.dataset.key = "";
        draw();
        return "refill"; // `can_ack` and the task's broken clock come with the state
      }
      if (ev === "reminder.acknowledged") {
        const r = reminders.get(d.id);
        if (r) { r.acknowledged_at = d.acknowledged_at || new Date().toISOString(); drawReminders(); draw(); }
        return true;
      }
      if (ev === "supervision.ordered") return true; // its level-2 reminder (reminder.created) shows it
      if (ev.indexOf("feedback_review.") === 0) {
        if (ev === "feedback_review.returned") CCLive.sound.play("alert");
        return "refill"; // the returns come with the inbox's state (supervision's `feedback_returns`)
      }
      return false;
    }

    return { load: load, apply: apply, draw: draw };
  }

  window.CCInboxTasks = { create: create };
})();
