// 网情 (online public opinion) pages: the monitor (/sentiment/), an event's page and a post's page.
//
// - Monitor: GET /api/sentiment/state/ (carries the live `seq`) and the pushes sentiment.post (a flagged
//   post), sentiment.event, sentiment.warning and sentiment.hit over /ws/board/ (CCLive.follow). The stream
//   of flagged posts (newest first, 涉警 terms marked), the events of 48 h each with its hourly growth
//   (GET /api/sentiment/events/{id}/, fetched again when the event's version moves), the open warnings with
//   their 研判 button, the spike chart (GET /api/sentiment/spikes/: counts per topic against the mean and
//   mean + k·σ, warnings as points), the watch-list hits and the watch-list editor (CRUD
//   /api/sentiment/watchlists/; a bad expression's 400 is shown under the field).
// - Event page: GET /api/sentiment/events/{id}/ — figures, growth, polarity mix, places, top posts,
//   warnings and the analyses made from them; reloaded on a push that concerns it.
// - Post page: GET /api/sentiment/posts/{id}/ — text, figures, why it was flagged, terms, topics, places.
// - 研判: POST /api/analyses/ {title, body, sentiment_warning|sentiment_event|sentiment_post} (intel makes
//   the analysis with the posts attached), then the workspace opens on it (/intel/?analysis={id}).
// Charts are ECharts on canvas; tooltips are drawn on the canvas too (richText): no HTML with inline styles
// under the strict CSP. Load after live.js (monitor, event page) and echarts.min.js.
(function () {
  "use strict";

  const h = CCDom.h, curl = CCDom.url, rows = CCDom.results;
  const RISK_COLOURS = { red: "#dc2626", yellow: "#d97706", blue: "#2563eb", "": "#64748b" };
  const TOPIC_COLOURS = ["#2563eb", "#dc2626", "#d97706", "#16a34a", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c"];

  function L() { return CCDom.readJson("sentiment-labels"); }

  function fmt(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, k) { return values[k] == null ? "" : String(values[k]); });
  }
  function round1(x) { return x == null ? "" : (Math.round(x * 10) / 10).toString(); }

  function riskChip(labels, risk) {
    if (!risk) return null;
    return h("span", { class: "colour-chip c-" + risk, text: labels.risk[risk] || risk });
  }
  function polarityTag(labels, p) {
    return h("span", { class: "sm-pol pol-" + p.polarity, title: p.polarity_score == null ? null : String(round1(p.polarity_score)), text: labels.polarity[p.polarity] || p.polarity });
  }

  // The text with the given terms marked (each a <mark class=cls>), longest first so a term inside
  // another is not split.
  function highlight(text, groups) {
    const marks = [];
    for (const g of groups) for (const term of g.terms || []) if (term) marks.push({ term: String(term), cls: g.cls });
    if (!marks.length) return [text];
    marks.sort(function (a, b) { return b.term.length - a.term.length; });
    const byTerm = new Map(marks.map(function (m) { return [m.term, m.cls]; }));
    const re = new RegExp(marks.map(function (m) { return m.term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }).join("|"), "g");
    const out = [];
    let at = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m[0] === "") { re.lastIndex++; continue; }
      if (m.index > at) out.push(text.slice(at, m.index));
      out.push(h("mark", { class: byTerm.get(m[0]) || "", text: m[0] }));
      at = m.index + m[0].length;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }

  function reach(p) { return (p.reposts || 0) + (p.comments || 0) + (p.likes || 0); }

  function placeText(p) {
    const names = (p.places || []).map(function (x) { return x.name; }).filter(Boolean);
    return names.length ? names.join("、") : (p.place || "");
  }

  // One post as a card: risk, polarity, 涉警, topics, what watch lists it hit; the text with its terms
  // marked; source, author, time, place and area; a link to its page.
  function postCard(labels, p, opts) {
    const t = labels.t;
    opts = opts || {};
    const text = opts.full || p.text.length <= 240 ? p.text : p.text.slice(0, 240) + "…";
    const hitTerms = [];
    for (const x of p.hits || []) hitTerms.push(...(x.matched || []));
    return h("li", { class: "sm-post r-" + (p.risk || "none") + (opts.fresh ? " fresh" : ""), dataset: { id: p.id, event: p.event || "" } }, [
      h("div", { class: "sm-post-top" }, [
        riskChip(labels, p.risk),
        polarityTag(labels, p),
        p.police ? h("span", { class: "sm-police", text: t.police }) : null,
        ...(p.categories || []).slice(0, 3).map(function (c) { return h("span", { class: "mini", text: c.name || c.code }); }),
        ...(p.hits || []).map(function (x) { return h("span", { class: "sm-hit-tag", title: (x.matched || []).join(" "), text: t.watch_hit + " · " + x.name }); }),
        h("a", { class: "sm-open", href: curl(opts.postPage, p.id), text: CCFmt.when(p.published_at) }),
      ]),
      h("p", { class: "sm-text" }, highlight(text, [
        { terms: p.police_terms, cls: "police" },
        { terms: hitTerms, cls: "hit" },
        { terms: opts.topicTerms ? p.topic_terms : [], cls: "topic" },
      ])),
      h("div", { class: "sm-meta" }, [
        h("span", { class: "sm-source", text: (p.source && p.source.name) || "" }),
        p.author ? h("span", { class: "sm-author", text: "@" + p.author }) : null,
        placeText(p) ? h("span", { class: "sm-place", text: placeText(p) }) : null,
        p.org_name ? h("span", { class: "sm-org", text: p.org_name }) : null,
        h("span", { class: "sm-reach num", title: t.reach, text: t.reach + " " + reach(p) }),
        p.event && opts.eventPage ? h("a", { class: "sm-event-link", href: curl(opts.eventPage, p.event), text: t.open_event }) : null,
      ]),
    ]);
  }

  // 研判: make the analysis from the subject, then open the workspace on it.
  function judgeButton(labels, ds, kind, id, title, body) {
    const t = labels.t;
    if (!ds.canJudge || !ds.analysesUrl) return null;
    const msg = h("span", { class: "sm-judge-msg small", role: "status" });
    const btn = h("button", {
      type: "button", class: "primary sm-judge", dataset: { kind: kind, id: id },
      onclick: async function () {
        btn.disabled = true;
        msg.textContent = t.judging;
        msg.className = "sm-judge-msg small";
        const payload = { title: String(title).slice(0, 200), body: body || "" };
        payload["sentiment_" + kind] = id;
        const res = await CCDom.api(ds.analysesUrl, payload);
        if (res.ok && res.data && res.data.id) {
          window.location.assign((ds.workspaceUrl || "/intel/") + "?analysis=" + res.data.id);
          return;
        }
        btn.disabled = false;
        msg.textContent = t.judge_failed + (res.data ? "：" + CCDom.errorText(res.data) : "");
        msg.className = "sm-judge-msg small bad";
      },
      text: t.judge,
    });
    return h("span", { class: "sm-judge-box" }, [btn, msg]);
  }

  function analysesList(labels, warnings, own) {
    const seen = new Set();
    const out = [];
    for (const a of [].concat(own || [], ...(warnings || []).map(function (w) { return w.analyses || []; }))) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      out.push(h("li", {}, [h("a", { href: a.url, text: a.title })]));
    }
    return out;
  }

  function warningCard(labels, ds, w, opts) {
    const t = labels.t;
    opts = opts || {};
    return h("li", { class: "sm-warning c-" + w.colour + " ws-" + w.state, dataset: { id: w.id, state: w.state, kind: w.kind } }, [
      h("div", { class: "sm-post-top" }, [
        riskChip(labels, w.colour),
        h("b", { class: "sm-w-kind", text: labels.warning_kind[w.kind] || w.kind }),
        w.category_name ? h("span", { class: "mini", text: w.category_name }) : null,
        h("span", { class: "sm-org", text: w.org_name || "" }),
        h("time", { class: "sm-time", datetime: w.hour, text: CCFmt.when(w.hour) }),
        w.state !== "open" ? h("span", { class: "state ws-" + w.state, text: labels.warning_state[w.state] || w.state }) : null,
      ]),
      h("p", { class: "sm-reason", text: w.reason }),
      h("div", { class: "sm-meta" }, [
        w.posts_n != null ? h("span", { class: "num", title: fmt(t.hour_count, { count: w.count, mean: round1(w.baseline_mean), sd: round1(w.baseline_sd) }), text: w.posts_n + " " + t.posts }) : null,
        w.event && opts.eventPage ? h("a", { class: "sm-event-link", href: curl(opts.eventPage, w.event), text: t.open_event }) : null,
        // CAP 1.2 for the public (intel's /api/cap/sentiment-warnings/{id}/), offered to those who may publish it.
        ds.capUrl && w.state !== "dismissed" ? h("a", { class: "sm-cap", href: curl(ds.capUrl, w.id), download: "sentiment-warning-" + w.id + ".xml", text: t.cap }) : null,
      ]),
      (w.analyses || []).length ? h("ul", { class: "sm-analyses" }, analysesList(labels, [w])) : null,
      h("div", { class: "sm-actions" }, [
        w.state === "open" ? judgeButton(labels, ds, "warning", w.id, (w.category_name ? w.category_name + " · " : "") + w.reason, w.reason) : null,
        w.state === "open" && ds.canJudge && opts.dismiss ? h("button", { type: "button", class: "small sm-dismiss", onclick: function () { opts.dismiss(w); }, text: t.dismiss }) : null,
      ]),
    ]);
  }

  function mixBar(labels, e) {
    const total = Math.max(1, (e.negative_n || 0) + (e.neutral_n || 0) + (e.positive_n || 0));
    const segs = [["negative", e.negative_n || 0], ["neutral", e.neutral_n || 0], ["positive", e.positive_n || 0]];
    return h("span", { class: "sm-mix", title: segs.map(function (s) { return labels.polarity[s[0]] + " " + s[1]; }).join(" · ") },
      segs.filter(function (s) { return s[1] > 0; }).map(function (s) {
        const seg = h("i", { class: "pol-" + s[0] });
        seg.style.width = (100 * s[1] / total).toFixed(1) + "%"; // CSSOM, not a style attribute (CSP)
        return seg;
      }));
  }

  // A small growth curve (hourly counts) in `box`.
  function sparkline(box, points, colour) {
    if (!window.echarts) return null;
    const chart = echarts.getInstanceByDom(box) || echarts.init(box);
    chart.setOption({
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 2 },
      xAxis: { type: "category", show: false, data: points.map(function (g) { return g.hour; }) },
      yAxis: { type: "value", show: false, min: 0 },
      series: [{ type: "line", data: points.map(function (g) { return g.n; }), showSymbol: points.length < 3, symbolSize: 4, smooth: true,
        lineStyle: { width: 1.5, color: colour }, areaStyle: { color: colour, opacity: 0.15 } }],
    }, true);
    box.dataset.points = String(points.length);
    return chart;
  }

  // --- The monitor -------------------------------------------------------------------------------------
  function monitor(root) {
    const labels = L();
    const t = labels.t;
    const ds = root.dataset;
    const q = function (s) { return root.querySelector(s); };
    const opts = { postPage: ds.postPage, eventPage: ds.eventPage };
    let state = { posts: [], events: [], warnings: [], hits: [], counts: {} };
    let watches = null;
    const fresh = new Set(); // posts that arrived live: marked for a moment
    const growth = new Map(); // event id -> {version, points, at}

    function upsert(list, row, key) {
      key = key || "id";
      const i = list.findIndex(function (x) { return x[key] === row[key]; });
      if (i >= 0) list[i] = row; else list.unshift(row);
    }

    function drawCounts() {
      const c = state.counts || {};
      for (const el of root.querySelectorAll("[data-count]")) {
        const v = c[el.dataset.count];
        el.textContent = v == null ? "–" : String(v);
      }
    }

    // A card is made again only when its row changed: one that arrived live flashes once, not on every redraw.
    const postNodes = new Map(); // id -> {sig, node}
    function drawPosts() {
      const list = state.posts.slice(0, 50);
      q("[data-n=posts]").textContent = String(list.length);
      const keep = new Set();
      const nodes = list.map(function (p) {
        keep.add(p.id);
        const sig = JSON.stringify(p);
        const had = postNodes.get(p.id);
        if (had && had.sig === sig) return had.node;
        const node = postCard(labels, p, Object.assign({ fresh: fresh.has(p.id) }, opts));
        fresh.delete(p.id);
        postNodes.set(p.id, { sig: sig, node: node });
        return node;
      });
      for (const id of Array.from(postNodes.keys())) if (!keep.has(id)) postNodes.delete(id);
      CCDom.place(q(".sm-post-list"), nodes.length ? nodes : [h("li", { class: "empty muted", text: t.no_posts })]);
    }

    // /sentiment/?warning=ID (the link of a 研判 opened from it, of the board's strip): that warning is shown
    // first and marked, open or not, with the analyses made from it.
    const focusId = parseInt(new URLSearchParams(window.location.search).get("warning") || "", 10) || null;
    let pinned = null;
    let scrolled = false;
    async function fetchPinned() {
      if (!focusId) return;
      const res = await CCDom.api(ds.warningsUrl + focusId + "/");
      if (res.ok && res.data) { pinned = res.data; drawWarnings(); }
    }
    function drawWarnings() {
      const list = state.warnings.filter(function (w) { return w.state === "open"; });
      q("[data-n=warnings]").textContent = String(list.length);
      const order = { red: 0, yellow: 1, blue: 2 };
      list.sort(function (a, b) { return (order[a.colour] - order[b.colour]) || (Date.parse(b.created_at) - Date.parse(a.created_at)); });
      if (pinned) {
        const live = state.warnings.find(function (w) { return w.id === pinned.id; });
        const shown = Object.assign({}, pinned, live || {});
        const rest = list.filter(function (w) { return w.id !== pinned.id; });
        list.splice(0, list.length, shown, ...rest);
      }
      const nodes = list.map(function (w) {
        const node = warningCard(labels, ds, w, Object.assign({ dismiss: dismiss }, opts));
        if (w.id === focusId) node.classList.add("focus");
        return node;
      });
      CCDom.place(q(".sm-warning-list"), nodes.length ? nodes : [h("li", { class: "empty muted", text: t.no_warnings })]);
      const marked = q(".sm-warning.focus");
      if (marked && !scrolled) { marked.scrollIntoView({ block: "center" }); scrolled = true; }
    }

    async function dismiss(w) {
      if (!window.confirm(t.dismiss_confirm)) return;
      const res = await CCDom.api(ds.warningsUrl + w.id + "/dismiss/", {});
      if (res.ok && res.data) { upsert(state.warnings, res.data); drawWarnings(); }
      else window.alert(t.failed + "：" + CCDom.errorText(res.data));
    }

    // Events keep their node (and its sparkline's chart) across redraws.
    const eventNodes = new Map();
    function eventNode(e) {
      let n = eventNodes.get(e.id);
      if (!n) {
        const spark = h("div", { class: "sm-spark", "aria-hidden": "true" });
        n = { li: h("li", { class: "sm-event", dataset: { id: e.id } }), spark: spark, body: h("div", { class: "sm-event-body" }) };
        n.li.append(n.body, spark);
        eventNodes.set(e.id, n);
      }
      n.li.className = "sm-event r-" + (e.risk || "none");
      n.li.dataset.posts = String(e.posts_n);
      n.body.replaceChildren(
        h("div", { class: "sm-post-top" }, [
          riskChip(labels, e.risk),
          h("a", { class: "sm-event-title", href: curl(ds.eventPage, e.id), text: e.title }),
        ]),
        h("div", { class: "sm-meta" }, [
          h("b", { class: "sm-event-n num", text: e.posts_n + " " + t.posts }),
          mixBar(labels, e),
          h("span", { class: "num", text: t.reach + " " + e.reach }),
          e.category_name ? h("span", { class: "mini", text: e.category_name }) : null,
          h("span", { class: "sm-org", text: e.org_name || "" }),
          h("time", { class: "sm-time", datetime: e.last_seen, text: CCFmt.when(e.last_seen) }),
        ]),
      );
      const g = growth.get(e.id);
      if (g && g.points && g.drawn !== g.version) { sparkline(n.spark, g.points, RISK_COLOURS[e.risk || ""]); g.drawn = g.version; }
      return n.li;
    }

    function drawEvents() {
      const list = state.events.slice().sort(function (a, b) { return Date.parse(b.last_seen) - Date.parse(a.last_seen); }).slice(0, 10);
      q("[data-n=events]").textContent = String(list.length);
      const keep = new Set(list.map(function (e) { return e.id; }));
      for (const [id, n] of eventNodes) {
        if (!keep.has(id)) { const c = window.echarts && echarts.getInstanceByDom(n.spark); if (c) c.dispose(); eventNodes.delete(id); }
      }
      CCDom.place(q(".sm-event-list"), list.length ? list.map(eventNode) : [h("li", { class: "empty muted", text: t.no_events })]);
      for (const e of list) fetchGrowth(e);
    }

    // Each event's hourly growth comes with its detail: fetched again when its version moved.
    const inflight = new Set();
    async function fetchGrowth(e) {
      const g = growth.get(e.id);
      if ((g && g.version === e.version) || inflight.has(e.id)) return;
      inflight.add(e.id);
      const res = await CCDom.api(ds.eventsUrl + e.id + "/");
      inflight.delete(e.id);
      if (!res.ok || !res.data) return;
      growth.set(e.id, { version: res.data.version, points: res.data.growth || [] });
      const cur = state.events.find(function (x) { return x.id === e.id; });
      if (cur && eventNodes.has(e.id)) eventNode(cur);
    }

    function hitCard(x) {
      const p = x.post || {};
      const text = (p.text || "").length > 140 ? p.text.slice(0, 140) + "…" : (p.text || "");
      return h("li", { class: "sm-hit" + (x.acknowledged_at ? " acked" : ""), dataset: { id: x.id, watch: x.watch } }, [
        h("div", { class: "sm-post-top" }, [
          h("b", { class: "sm-hit-name", text: x.name }),
          ...(x.matched || []).map(function (m) { return h("mark", { class: "hit", text: m }); }),
          p.id ? h("a", { class: "sm-open", href: curl(ds.postPage, p.id), text: CCFmt.when(x.created_at) }) : null,
        ]),
        h("p", { class: "sm-text small" }, highlight(text, [{ terms: x.matched, cls: "hit" }])),
        x.acknowledged_at ? h("span", { class: "muted small", text: t.acknowledged })
          : ds.canWatch && ds.hitAckUrl ? h("button", { type: "button", class: "small sm-ack", onclick: function () { acknowledge(x); }, text: t.acknowledge }) : null,
      ]);
    }
    // 知悉: the hit leaves the boards' strips (the push that answers it says so to every screen).
    async function acknowledge(x) {
      const res = await CCDom.api(curl(ds.hitAckUrl, x.id), {});
      if (res.ok && res.data) { upsert(state.hits, res.data); drawHits(); }
    }
    function drawFeeds() {
      const box = q(".sm-feeds");
      const feeds = state.feeds || [];
      box.hidden = !feeds.length;
      if (!feeds.length) return;
      const bad = feeds.filter(function (f) { return f.failing; });
      box.classList.toggle("bad", bad.length > 0);
      box.querySelector("summary").textContent = bad.length ? fmt(t.feeds_failing, { bad: bad.length, n: feeds.length }) : fmt(t.feeds_ok, { n: feeds.length });
      box.querySelector("ul").replaceChildren(...feeds.map(function (f) {
        return h("li", { class: f.failing ? "bad" : "" }, [
          h("b", { text: f.name }), " · " + f.source,
          f.failing ? h("span", { class: "small", text: " — " + fmt(t.feed_failing, { when: f.last_ok_at ? CCFmt.when(f.last_ok_at) : "—", error: f.last_error || "" }) }) : null,
        ]);
      }));
    }
    function drawHits() {
      const list = state.hits.slice(0, 20);
      CCDom.place(q(".sm-hit-list"), list.length ? list.map(hitCard) : [h("li", { class: "empty muted", text: t.no_hits })]);
    }

    // Today's counts move with every post, flagged or not (only flagged ones are pushed): read again from
    // the state shortly after a push, at most every few seconds.
    let countsTimer = 0;
    function countsSoon() {
      if (countsTimer) return;
      countsTimer = setTimeout(async function () {
        const res = await CCDom.api(ds.stateUrl);
        countsTimer = 0;
        if (res.ok && res.data && res.data.counts) { state.counts = res.data.counts; drawCounts(); }
      }, 3000);
    }

    function drawAll() { drawCounts(); drawWarnings(); drawPosts(); drawEvents(); drawHits(); drawFeeds(); }

    const live = CCLive.follow({
      status: q(".live-status"),
      t: t,
      load: async function () {
        const res = await CCDom.api(ds.stateUrl);
        return res.ok ? res.data : null;
      },
      onState: function (s) {
        state = {
          posts: s.posts || [], events: s.events || [], warnings: s.warnings || [], hits: s.hits || [], counts: s.counts || {},
          feeds: s.feeds || [],
        };
        drawAll();
        spikesSoon();
        fetchPinned();
      },
      onEvent: function (env) {
        const d = env.data;
        if (env.event === "sentiment.post") {
          const isNew = !state.posts.some(function (p) { return p.id === d.id; });
          upsert(state.posts, d);
          state.posts.sort(function (a, b) { return (Date.parse(b.published_at) - Date.parse(a.published_at)) || (b.id - a.id); });
          state.posts = state.posts.slice(0, 100);
          if (isNew) {
            fresh.add(d.id);
            const c = state.counts;
            if (c.flagged_today != null) c.flagged_today++;
            drawCounts();
            countsSoon();
          }
          drawPosts();
          spikesSoon();
        } else if (env.event === "sentiment.event") {
          upsert(state.events, d);
          drawEvents();
        } else if (env.event === "sentiment.warning") {
          upsert(state.warnings, d);
          drawWarnings();
          if (d.state === "open" && d.colour === "red") CCLive.sound.play("alert");
          spikesSoon();
        } else if (env.event === "sentiment.hit") {
          upsert(state.hits, d);
          drawHits();
          if (watches) watches.soon(); // its count of hits
          CCLive.sound.play("soft");
        }
      },
    });
    root.__live = live;

    // --- The spike chart ---------------------------------------------------------------------------------
    const chartBox = q(".sm-spike-chart");
    const topicSel = q("[name=spike-topic]");
    const hoursSel = q("[name=spike-hours]");
    let chart = null, spikes = null, spikeTimer = 0, lastSpikes = 0;

    function spikesSoon() {
      if (spikeTimer) return;
      const wait = Math.max(1000, 5000 - (Date.now() - lastSpikes));
      spikeTimer = setTimeout(function () { spikeTimer = 0; loadSpikes(); }, lastSpikes ? wait : 0);
    }
    async function loadSpikes() {
      lastSpikes = Date.now();
      const res = await CCDom.api(ds.spikesUrl + "?hours=" + encodeURIComponent(hoursSel.value));
      if (!res.ok || !res.data) return;
      spikes = res.data;
      const keep = topicSel.value;
      const series = spikes.series || [];
      topicSel.replaceChildren(h("option", { value: "", text: t.all_topics }), ...series.map(function (s) { return h("option", { value: s.category, text: s.category_name || s.category }); }));
      if (keep && series.some(function (s) { return s.category === keep; })) topicSel.value = keep;
      else if (!topicSel.dataset.touched) {
        // The topic of the newest open warning, else the one with the most posts in its last hours.
        const w = (spikes.warnings || []).find(function (x) { return x.state === "open" && x.kind === "spike"; });
        if (w && series.some(function (s) { return s.category === w.category; })) topicSel.value = w.category;
      }
      drawSpikes();
    }

    function drawSpikes() {
      if (!spikes || !window.echarts || !chartBox) return;
      if (!chart) chart = echarts.init(chartBox);
      const hours = spikes.hours || [];
      const hourIndex = new Map(hours.map(function (x, i) { return [Date.parse(x), i]; }));
      const xs = hours.map(function (x) { return CCFmt.when(x); });
      const chosen = topicSel.value;
      const series = (spikes.series || []).filter(function (s) { return !chosen || s.category === chosen; });
      const out = [];
      const kY = (spikes.k && spikes.k.yellow) || 3;
      function points(category) {
        return (spikes.warnings || []).filter(function (w) { return w.category === category && hourIndex.has(Date.parse(w.hour)); }).map(function (w) {
          return { coord: [hourIndex.get(Date.parse(w.hour)), w.count], value: w.count, name: t.warning,
            itemStyle: { color: RISK_COLOURS[w.colour] || "#dc2626" } };
        });
      }
      series.forEach(function (s, k) {
        const colour = TOPIC_COLOURS[k % TOPIC_COLOURS.length];
        out.push({ type: "line", name: s.category_name || s.category, data: s.counts, showSymbol: false, lineStyle: { width: 2, color: colour }, itemStyle: { color: colour },
          markPoint: { symbol: "pin", symbolSize: 34, data: points(s.category), label: { fontSize: 10 } } });
        if (chosen) {
          const mean = s.mean.map(function (x) { return x == null ? null : round1(x); });
          out.push({ type: "line", name: t.mean, data: mean, showSymbol: false, lineStyle: { type: "dashed", width: 1, color: "#64748b" }, itemStyle: { color: "#64748b" } });
          // The band from the mean up to mean + k·σ (k: the yellow threshold): stacked on an invisible mean.
          out.push({ type: "line", name: "band-base", data: mean, stack: "band", showSymbol: false, lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } });
          out.push({ type: "line", name: t.threshold + " k=" + kY, stack: "band", showSymbol: false, lineStyle: { width: 1, color: "#f59e0b" }, itemStyle: { color: "#f59e0b" },
            areaStyle: { color: "#f59e0b", opacity: 0.15 }, data: s.sd.map(function (x) { return x == null ? null : round1(kY * x); }) });
        }
      });
      chart.setOption({
        animation: false,
        grid: { left: 36, right: 12, top: 30, bottom: 28 },
        tooltip: { trigger: "axis", renderMode: "richText" },
        legend: { top: 0, type: "scroll", data: out.filter(function (s) { return s.name !== "band-base"; }).map(function (s) { return s.name; }) },
        xAxis: { type: "category", data: xs, axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", minInterval: 1 },
        series: out.length ? out : [{ type: "line", data: [] }],
        graphic: out.length ? [] : [{ type: "text", left: "center", top: "middle", style: { text: t.no_data, fill: "#64748b", fontSize: 14 } }],
      }, true);
      chartBox.dataset.drawn = String(series.length);
      chartBox.dataset.warnings = String((spikes.warnings || []).length);
    }
    topicSel.addEventListener("change", function () { topicSel.dataset.touched = "1"; drawSpikes(); });
    hoursSel.addEventListener("change", loadSpikes);
    window.addEventListener("resize", CCDom.debounce(function () {
      if (chart) chart.resize();
      for (const n of eventNodes.values()) { const c = window.echarts && echarts.getInstanceByDom(n.spark); if (c) c.resize(); }
    }, 150));
    setInterval(loadSpikes, 5 * 60 * 1000);

    // --- Watch lists ---------------------------------------------------------------------------------------
    watches = watchEditor(root, labels, ds);
  }

  function splitList(v) { return String(v || "").split(/[,，、;；\n]/).map(function (x) { return x.trim(); }).filter(Boolean); }

  function watchEditor(root, labels, ds) {
    const t = labels.t;
    const list = root.querySelector(".sm-watch-list");
    const form = root.querySelector(".sm-watch-form");
    let rowsNow = [];

    async function load() {
      const res = await CCDom.api(ds.watchlistsUrl + "?page_size=200");
      if (!res.ok) return;
      rowsNow = rows(res.data);
      draw();
    }
    function draw() {
      list.replaceChildren(...(rowsNow.length ? rowsNow.map(function (w) {
        return h("li", { class: "sm-wl c-" + w.colour + (w.active ? "" : " inactive"), dataset: { id: w.id, name: w.name } }, [
          h("div", { class: "sm-post-top" }, [
            riskChip(labels, w.colour),
            h("b", { class: "sm-wl-name", text: w.name }),
            w.active ? null : h("span", { class: "mini", text: t.inactive }),
            h("span", { class: "mini num", text: (w.hits_n || 0) + " " + t.hits }),
            w.org_name ? h("span", { class: "sm-org", text: w.org_name }) : null,
          ]),
          h("code", { class: "sm-expr", text: w.expression || "—" }),
          (w.accounts || []).length || (w.places || []).length ? h("div", { class: "sm-meta small" }, [
            (w.accounts || []).length ? h("span", { text: "@" + w.accounts.join(" @") }) : null,
            (w.places || []).length ? h("span", { text: w.places.join("、") }) : null,
          ]) : null,
          form ? h("div", { class: "sm-actions" }, [
            h("button", { type: "button", class: "small sm-wl-edit", onclick: function () { edit(w); }, text: t.edit }),
            h("button", { type: "button", class: "small sm-wl-toggle", onclick: function () { toggle(w); }, text: w.active ? t.deactivate : t.activate }),
          ]) : null,
        ]);
      }) : [h("li", { class: "empty muted", text: t.no_watchlists })]));
    }
    if (!list) return null;
    load();
    const api = { soon: CCDom.debounce(load, 500) };
    if (!form) return api;

    const title = form.querySelector(".sm-form-title");
    const cancel = form.querySelector(".sm-watch-cancel");
    const errors = form.querySelector(".form-errors");
    function field(name) { return form.querySelector("[name=" + name + "]"); }
    function clearErrors() {
      errors.hidden = true; errors.textContent = "";
      for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
      for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
    }
    function reset() {
      form.reset();
      field("id").value = "";
      title.textContent = title.dataset.new;
      cancel.hidden = true;
      clearErrors();
    }
    function edit(w) {
      clearErrors();
      field("id").value = String(w.id);
      field("name").value = w.name;
      field("expression").value = w.expression || "";
      field("accounts").value = (w.accounts || []).join(", ");
      field("places").value = (w.places || []).join(", ");
      const c = form.querySelector("[name=colour][value='" + (w.colour || "yellow") + "']");
      if (c) c.checked = true;
      title.textContent = title.dataset.edit + " · " + w.name;
      cancel.hidden = false;
      field("name").focus();
    }
    async function toggle(w) {
      const res = await CCDom.api(ds.watchlistsUrl + w.id + "/", { active: !w.active }, "PATCH");
      if (!res.ok) { window.alert(t.failed + "：" + CCDom.errorText(res.data)); return; }
      load();
    }
    function showErrors(data) {
      const rest = [];
      for (const k of Object.keys(data || {})) {
        const p = form.querySelector(".field-error[data-for=" + k + "]");
        const text = [].concat(data[k]).join(" ");
        if (p) { p.textContent = text; p.hidden = false; const i = field(k); if (i) i.setAttribute("aria-invalid", "true"); }
        else rest.push((form.querySelector("[name=" + k + "]") ? "" : k + ": ") + text);
      }
      if (rest.length) { errors.textContent = rest.join("；"); errors.hidden = false; }
    }
    cancel.addEventListener("click", reset);
    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      clearErrors();
      const id = field("id").value;
      const body = {
        name: field("name").value.trim(),
        expression: field("expression").value.trim(),
        accounts: splitList(field("accounts").value),
        places: splitList(field("places").value),
        colour: (form.querySelector("[name=colour]:checked") || {}).value || "yellow",
      };
      if (!id) { body.org = ds.org ? parseInt(ds.org, 10) : undefined; body.active = true; }
      const res = await CCDom.api(id ? ds.watchlistsUrl + id + "/" : ds.watchlistsUrl, body, id ? "PATCH" : "POST");
      if (!res.ok) {
        if (res.status === 400 && res.data) showErrors(res.data);
        else { errors.textContent = t.failed + "：" + CCDom.errorText(res.data); errors.hidden = false; }
        return;
      }
      reset();
      form.dataset.saved = String(res.data && res.data.id);
      load();
    });
    return api;
  }

  // --- An event's page ---------------------------------------------------------------------------------
  function eventPage(root) {
    const labels = L();
    const t = labels.t;
    const ds = root.dataset;
    const q = function (s) { return root.querySelector(s); };
    let growthChart = null, mixChart = null;

    function draw(e) {
      q(".ev-risk").replaceChildren(...[riskChip(labels, e.risk)].filter(Boolean));
      q("[data-f=posts_n]").textContent = String(e.posts_n);
      q("[data-f=reach]").textContent = String(e.reach);
      q("[data-f=first_seen]").textContent = CCFmt.when(e.first_seen);
      q("[data-f=last_seen]").textContent = CCFmt.when(e.last_seen);
      q("[data-f=category]").textContent = e.category_name || "—";
      q("[data-f=org]").textContent = e.org_name || "";
      q("[data-f=places]").replaceChildren(...((e.places || []).length ? e.places.map(function (p) { return h("span", { class: "chip", text: p }); }) : ["—"]));
      q(".ev-posts").replaceChildren(...((e.top_posts || []).length ? e.top_posts.map(function (p) { return postCard(labels, p, { postPage: ds.postPage, topicTerms: true }); })
        : [h("li", { class: "empty muted", text: t.no_posts })]));
      q(".ev-warnings").replaceChildren(...((e.warnings || []).length ? e.warnings.map(function (w) { return warningCard(labels, ds, w, {}); })
        : [h("li", { class: "empty muted", text: t.no_event_warnings })]));
      const an = analysesList(labels, e.warnings, [].concat(CCDom.readJson("sentiment-analyses")).filter(function (a) { return a && a.id; }));
      q(".ev-analyses").replaceChildren(...(an.length ? an : [h("li", { class: "empty muted", text: t.no_analyses })]));
      const judge = q(".ev-judge");
      const body = [e.title, t.posts + " " + e.posts_n, t.reach + " " + e.reach, (e.places || []).join("、")].filter(Boolean).join("；");
      judge.replaceChildren(...[judgeButton(labels, ds, "event", e.id, e.title, body)].filter(Boolean));
      if (window.echarts) {
        const g = e.growth || [];
        if (!growthChart) growthChart = echarts.init(q(".ev-growth"));
        growthChart.setOption({
          animation: false,
          grid: { left: 36, right: 12, top: 12, bottom: 28 },
          tooltip: { trigger: "axis", renderMode: "richText" },
          xAxis: { type: "category", data: g.map(function (x) { return CCFmt.when(x.hour); }), axisLabel: { hideOverlap: true } },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "line", name: t.count, data: g.map(function (x) { return x.n; }), smooth: true, showSymbol: g.length < 30,
            lineStyle: { color: RISK_COLOURS[e.risk || ""] }, itemStyle: { color: RISK_COLOURS[e.risk || ""] }, areaStyle: { color: RISK_COLOURS[e.risk || ""], opacity: 0.12 } }],
        }, true);
        q(".ev-growth").dataset.points = String(g.length);
        if (!mixChart) mixChart = echarts.init(q(".ev-mix"));
        mixChart.setOption({
          animation: false,
          tooltip: { trigger: "item", renderMode: "richText" },
          series: [{ type: "pie", radius: ["45%", "75%"], label: { formatter: "{b} {c}", fontSize: 12 },
            data: [
              { name: labels.polarity.negative, value: e.negative_n || 0, itemStyle: { color: "#dc2626" } },
              { name: labels.polarity.neutral, value: e.neutral_n || 0, itemStyle: { color: "#94a3b8" } },
              { name: labels.polarity.positive, value: e.positive_n || 0, itemStyle: { color: "#16a34a" } },
            ].filter(function (x) { return x.value > 0; }) }],
        }, true);
      }
      root.dataset.loaded = String(e.version);
    }

    async function fetchEvent() {
      const res = await CCDom.api(ds.detailUrl);
      return res.ok ? res.data : null;
    }
    CCLive.follow({
      status: q(".live-status"),
      t: t,
      load: async function () {
        const seq = await CCDom.api(ds.liveUrl);
        if (!seq.ok) return null;
        const e = await fetchEvent();
        return e === null ? null : { seq: seq.data.seq, at: seq.data.at, event: e };
      },
      onState: function (s) { draw(s.event); },
      onEvent: function (env) {
        const d = env.data || {};
        const id = parseInt(ds.id, 10);
        if ((env.event === "sentiment.event" && d.id === id) || (env.event === "sentiment.warning" && d.event === id)
          || (env.event === "sentiment.post" && d.event === id)) {
          fetchEvent().then(function (e) { if (e) draw(e); });
        }
      },
    });
    window.addEventListener("resize", CCDom.debounce(function () { if (growthChart) growthChart.resize(); if (mixChart) mixChart.resize(); }, 150));
  }

  // --- A post's page -----------------------------------------------------------------------------------
  async function postPage(root) {
    const labels = L();
    const t = labels.t;
    const ds = root.dataset;
    const q = function (s) { return root.querySelector(s); };
    const res = await CCDom.api(ds.detailUrl);
    if (!res.ok || !res.data) { q(".pp-text").textContent = t.failed; return; }
    const p = res.data;
    q(".pp-top").replaceChildren(...[riskChip(labels, p.risk), polarityTag(labels, p), p.police ? h("span", { class: "sm-police", text: t.police }) : null].filter(Boolean));
    q(".pp-text").replaceChildren(...highlight(p.text, [
      { terms: p.police_terms, cls: "police" },
      { terms: [].concat(...(p.hits || []).map(function (x) { return x.matched || []; })), cls: "hit" },
      { terms: p.topic_terms, cls: "topic" },
    ]));
    q(".pp-why").replaceChildren(...((p.why || []).length ? p.why.map(function (w) { return h("li", { text: w }); }) : [h("li", { class: "muted", text: "—" })]));
    q("[data-f=published_at]").textContent = CCFmt.when(p.published_at);
    q("[data-f=received_at]").textContent = CCFmt.when(p.received_at);
    q("[data-f=polarity_score]").textContent = round1(p.polarity_score);
    function chips(sel, items, cls) {
      q(sel).replaceChildren(...(items.length ? items.map(function (x) { return h("span", { class: "chip " + (cls || ""), text: x }); }) : ["—"]));
    }
    chips("[data-f=police_terms]", p.police_terms || [], "police");
    chips("[data-f=topic_terms]", p.topic_terms || [], "topic");
    chips("[data-f=categories]", (p.categories || []).map(function (c) { return c.name || c.code; }));
    chips("[data-f=places]", (p.places || []).map(function (x) { return x.name + (x.org_name ? "（" + x.org_name + "）" : ""); }));
    chips("[data-f=hits]", (p.hits || []).map(function (x) { return x.name + "：" + (x.matched || []).join(" "); }), "hit");
    const body = [p.text.slice(0, 500), (p.source && p.source.name) || "", p.author ? "@" + p.author : ""].filter(Boolean).join("\n");
    q(".pp-judge").replaceChildren(...[judgeButton(labels, ds, "post", p.id, p.text.slice(0, 60), body)].filter(Boolean));
    root.dataset.loaded = "1";
  }

  window.CCSentiment = { highlight: highlight, postCard: postCard };

  document.addEventListener("DOMContentLoaded", function () {
    const m = document.querySelector("[data-sentiment-monitor]");
    if (m) monitor(m);
    const e = document.querySelector("[data-sentiment-event]");
    if (e) eventPage(e);
    const p = document.querySelector("[data-sentiment-post]");
    if (p) postPage(p);
  });
})();
