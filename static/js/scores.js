// 考评: a level's ranking for a week or a month (GET /api/scores/), each row marked for the 红榜 or 黑榜 with
// the rule that made them; a click opens every part of the score (GET /api/scores/{id}/): each measure's
// points, each bonus, each deduction with its cause and a link to it.
(function () {
  "use strict";
  const root = document.querySelector("[data-scores]");
  if (!root) return;
  const D = window.CCDom;
  const h = D.h;
  const t = (D.readJson("score-labels").t) || {};
  const ds = root.dataset;
  const form = root.querySelector(".score-scope");
  const body = root.querySelector(".score-table tbody");
  const rule = root.querySelector(".score-rule");
  const title = root.querySelector(".score-detail-title");
  const parts = root.querySelector(".score-parts");

  function query() {
    const q = new URLSearchParams();
    for (const name of ["level", "period", "date"]) q.set(name, form.elements.namedItem(name).value);
    return q;
  }
  function points(n) { return (n > 0 ? "+" : "") + n.toFixed(2); }

  async function load() {
    const res = await D.api(ds.listUrl + "?" + query().toString());
    if (!res.ok) { rule.textContent = (t.failed || "") + ": " + D.errorText(res.data); body.replaceChildren(); return; }
    rule.textContent = res.data.rule || "";
    const rows = res.data.results || [];
    body.replaceChildren(...(rows.length ? rows.map(function (r) {
      const mark = r.list === "red" ? t.red : r.list === "black" ? t.black : "";
      return h("tr", { class: "score-row" + (r.list ? " list-" + r.list : ""), tabindex: "0", dataset: { id: r.id },
        onclick: function () { open(r); }, onkeydown: function (e) { if (e.key === "Enter") open(r); } }, [
        h("td", { class: "num", text: r.rank + " / " + r.of }),
        h("td", { text: r.org_name }),
        h("td", { class: "num", text: r.total.toFixed(2) }),
        h("td", {}, mark ? [h("span", { class: "tag list-tag-" + r.list, text: mark })] : []),
      ]);
    }) : [h("tr", {}, [h("td", { colspan: "4", class: "muted", text: t.none || "" })])]));
    if (rows.length === 1) open(rows[0]); // a station: its own row, opened
  }

  async function open(r) {
    for (const tr of body.querySelectorAll(".score-row")) tr.classList.toggle("on", tr.dataset.id === String(r.id));
    title.textContent = r.org_name + " · " + r.total.toFixed(2) + " · " + r.rank + " / " + r.of;
    const res = await D.api(D.url(ds.detailUrl, r.id));
    const list = res.ok ? res.data.parts || [] : [];
    parts.replaceChildren(...list.map(function (p) {
      const cause = p.cause || null;
      return h("li", { class: "part part-" + p.kind }, [
        h("span", { class: "tag", text: t[p.kind] || p.kind }), " ",
        h("span", { text: p.label }), " ",
        p.kind === "kpi" && p.value == null ? h("span", { class: "muted", text: "(" + (t.not_measured || "") + ") " }) : null,
        p.kind !== "deduction" && p.value != null ? h("span", { class: "muted", text: "(" + (p.value * 100).toFixed(1) + " %) " }) : null,
        h("b", { class: p.points < 0 ? "worse" : "better", text: points(p.points) }),
        cause ? h("span", { class: "muted" }, [" · ", cause.url ? h("a", { href: cause.url, text: cause.title || "" }) : (cause.title || ""),
          cause.detail ? " " + cause.detail : ""]) : null,
      ]);
    }));
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  load();
})();
