// The inspection queue (数字督察): the rules with their counts and dismissal rates, and the findings in the
// reader's area — each with its subject in words and a link — to confirm, or dismiss with a reason.
// Rows: GET /api/inspection/rules/ and /api/inspection/findings/; actions: POST …/{id}/confirm|dismiss/.
// Load after live.js (CCLive.h, CCLive.api) and fmt.js (CCFmt.when).
(function () {
  "use strict";

  const h = CCLive.h;

  function rows(data) { return data && Array.isArray(data.results) ? data.results : (Array.isArray(data) ? data : []); }
  function pct(rate) { return rate === null || rate === undefined ? "—" : Math.round(rate * 1000) / 10 + "%"; }

  function start(root) {
    const ds = root.dataset;
    const el = {
      rules: root.querySelector(".insp-rule-rows"),
      list: root.querySelector(".insp-list"),
      count: root.querySelector(".insp-count"),
      state: root.querySelector("[name=insp-state]"),
      rule: root.querySelector("[name=insp-rule]"),
      msg: root.querySelector(".insp-msg"),
    };
    let rulesFilled = false;

    function say(text) {
      el.msg.textContent = text || "";
      el.msg.hidden = !text;
    }

    function renderRules(list) {
      el.rules.replaceChildren.apply(el.rules, list.map(function (r) {
        const params = Object.keys(r.params).map(function (k) { return k + "=" + r.params[k]; }).join(", ");
        return h("tr", { dataset: { rule: r.key } }, [
          h("td", { title: r.description }, r.label),
          h("td", null, r.enabled ? ds.tOn : ds.tOff),
          h("td", { class: "mono" }, params),
          h("td", { class: "num found" }, r.found),
          h("td", { class: "num open" }, r.open),
          h("td", { class: "num confirmed" }, r.confirmed),
          h("td", { class: "num dismissed" }, r.dismissed),
          h("td", { class: "num rate" }, pct(r.dismissal_rate)),
        ]);
      }));
      if (!rulesFilled) {
        list.forEach(function (r) { el.rule.appendChild(h("option", { value: r.key }, r.label)); });
        rulesFilled = true;
      }
    }

    async function decide(f, verb, reason) {
      const r = await CCLive.api(ds.findingsUrl + f.id + "/" + verb + "/", { reason: reason || "" });
      if (r.ok) {
        say(verb === "confirm" ? ds.tConfirmed : ds.tDismissed);
      } else if (r.status === 409) {
        say(ds.tConflict);
      } else {
        const why = r.data && (r.data.reason || r.data.detail);
        say(ds.tFailed + (why ? ": " + [].concat(why).join(" ") : ""));
      }
      await refresh();
    }

    function findingRow(f) {
      const s = f.subject || {};
      const title = s.url ? h("a", { href: s.url }, s.title || "#" + s.id) : h("strong", null, s.title || "#" + s.id);
      const reason = h("input", { name: "reason", maxlength: "2000", placeholder: ds.tReason, "aria-label": ds.tReason });
      const actions = f.state === "open" ? h("div", { class: "insp-actions inline-form" }, [
        h("button", { type: "button", class: "confirm", onclick: function () { decide(f, "confirm", reason.value); } }, ds.tConfirm),
        reason,
        h("button", {
          type: "button",
          class: "dismiss",
          onclick: function () {
            if (!reason.value.trim()) { say(ds.tReasonNeeded); reason.focus(); return; }
            decide(f, "dismiss", reason.value);
          },
        }, ds.tDismiss),
      ]) : h("p", { class: "muted" }, [f.state === "confirmed" ? ds.tConfirmed : ds.tDismissed, f.reason ? " · " + f.reason : ""]);
      return h("li", { class: "insp-item", dataset: { id: f.id, rule: f.rule } }, [
        h("div", { class: "insp-head" }, [h("span", { class: "chip" }, f.rule_label), " ", title, " ", h("span", { class: "muted" }, s.detail || "")]),
        h("div", { class: "insp-detail" }, f.detail),
        h("div", { class: "muted" }, [f.org_name, " · ", CCFmt.when(f.found_at)]),
        actions,
      ]);
    }

    async function refresh() {
      const q = new URLSearchParams({ page_size: "200" });
      if (el.state.value) q.set("state", el.state.value);
      if (el.rule.value) q.set("rule", el.rule.value);
      const [r, f] = await Promise.all([CCLive.api(ds.rulesUrl), CCLive.api(ds.findingsUrl + "?" + q.toString())]);
      if (r.ok) renderRules(rows(r.data));
      if (!f.ok) return;
      const list = rows(f.data);
      el.count.textContent = f.data && f.data.count !== undefined ? f.data.count : list.length;
      el.list.replaceChildren.apply(el.list, list.length ? list.map(findingRow) : [h("li", { class: "muted empty" }, ds.tNone)]);
    }

    el.state.addEventListener("change", function () { say(""); refresh(); });
    el.rule.addEventListener("change", function () { say(""); refresh(); });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-inspection]");
    if (root) start(root);
  });
})();
