// CCLive: what the live screens (board, inbox, big screen) share. Plain script, no build step, no inline
// code (strict CSP). Load before board.js / inbox.js / wall.js.
//
// - follow(): the /ws/board/ socket with the REST reload protocol. On every (re)connect the server says
//   `hello`; the screen then loads its state over REST (which carries the group's `seq`, read before the
//   rows), applies the events that arrived meanwhile with a higher seq, and from then on applies events in
//   order. A gap in the seqs (the channel layer dropped a message) reloads the state, unless the missing
//   ones arrive within REORDER_MS: a guard only since the server numbers and publishes each push in one
//   atomic step (realtime.py), before which two web processes' pushes could overtake each other by a few
//   milliseconds. The status element shows offline / loading / live, and when the screen last caught up.
// - sound: WebAudio beeps (no audio file), muted with a toggle that is remembered; browsers start audio
//   only after a gesture, so the first tap or key anywhere unlocks it.
// - small DOM, time and API helpers.
(function () {
  "use strict";

  // --- DOM ------------------------------------------------------------------------------------------------
  // dom.js (loaded on every page by base.html) holds the one copy of each; CCLive passes them on.
  const h = CCDom.h, readJson = CCDom.readJson, csrf = CCDom.csrf, api = CCDom.api, errorText = CCDom.errorText;

  // --- Time -----------------------------------------------------------------------------------------------
  let skew = 0; // server time - local time, from each state's `at`
  function now() { return Date.now() + skew; }
  function setServerTime(iso) {
    const t = Date.parse(iso);
    if (isFinite(t)) skew = t - Date.now();
  }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function countdown(ms) {
    // "1:05" while running, "-0:12" once due; hours when long ("2:03:10").
    const neg = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const hh = Math.floor(s / 3600); s -= hh * 3600;
    const mm = Math.floor(s / 60); s -= mm * 60;
    const body = hh ? hh + ":" + pad(mm) + ":" + pad(s) : mm + ":" + pad(s);
    return (neg ? "-" : "") + body;
  }
  function clockTime(iso) { return CCFmt.time(iso); }  // in the server's zone (fmt.js)
  function age(iso) {
    const ms = now() - Date.parse(iso);
    if (!isFinite(ms)) return "";
    const m = Math.floor(ms / 60000);
    if (m < 60) return m + "′" + pad(Math.floor((ms % 60000) / 1000)) + "″";
    return Math.floor(m / 60) + "h" + pad(m % 60) + "′";
  }

  // Countdowns: every element with data-due (ISO) shows the time left; `late` once due, `warn` under 10 s.
  function tickCountdowns(root) {
    const t = now();
    for (const el of (root || document).querySelectorAll("[data-due]")) {
      const ms = Date.parse(el.dataset.due) - t;
      const text = countdown(ms);
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("late", ms < 0);
      el.classList.toggle("warn", ms >= 0 && ms < 10000);
    }
    for (const el of (root || document).querySelectorAll("[data-age]")) {
      const text = age(el.dataset.age);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  // --- API ------------------------------------------------------------------------------------------------
  // A multipart POST (files): the browser sets the boundary; the answer is read like api()'s.
  async function postForm(url, formData) {
    let r;
    try {
      r = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        credentials: "same-origin",
        body: formData,
      });
    } catch (e) {
      return { ok: false, status: 0, data: null };
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { ok: r.ok, status: r.status, data: data };
  }

  // --- Sound ----------------------------------------------------------------------------------------------
  const PATTERNS = {
    // [frequency Hz, start s, length s]
    alert: [[880, 0, 0.14], [660, 0.18, 0.14], [880, 0.36, 0.14], [660, 0.54, 0.2]],
    order: [[660, 0, 0.12], [880, 0.14, 0.12], [1175, 0.28, 0.22]],
    soft: [[740, 0, 0.12]],
  };
  const sound = {
    ctx: null,
    muted: localStorage.getItem("cc.sound.muted") === "1",
    listeners: [],
    played: 0,
    unlock: function () {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      if (!sound.ctx) sound.ctx = new AC();
      if (sound.ctx.state === "suspended") sound.ctx.resume().then(sound.changed, sound.changed);
      sound.changed();
    },
    ready: function () { return !!sound.ctx && sound.ctx.state === "running"; },
    setMuted: function (m) {
      sound.muted = !!m;
      localStorage.setItem("cc.sound.muted", m ? "1" : "0");
      sound.changed();
    },
    changed: function () { for (const fn of sound.listeners) fn(); },
    play: function (kind) {
      if (sound.muted) return;
      sound.played++;
      document.body.dataset.beeps = String(sound.played); // what was played, for people and tests alike
      if (!sound.ready()) return;
      const ctx = sound.ctx;
      const t0 = ctx.currentTime + 0.01;
      for (const [freq, start, len] of PATTERNS[kind] || PATTERNS.soft) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t0 + start);
        gain.gain.exponentialRampToValueAtTime(0.35, t0 + start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + len);
        osc.connect(gain).connect(ctx.destination);
        osc.start(t0 + start);
        osc.stop(t0 + start + len + 0.05);
      }
    },
  };
  document.addEventListener("pointerdown", sound.unlock, true);
  document.addEventListener("keydown", sound.unlock, true);

  // A button that mutes and unmutes, and says when a tap is still needed to start audio.
  function soundButton(el, t) {
    function paint() {
      el.classList.toggle("muted", sound.muted);
      el.classList.toggle("locked", !sound.muted && !sound.ready());
      el.setAttribute("aria-pressed", sound.muted ? "false" : "true");
      el.textContent = sound.muted ? "✕ " + t.sound_off : (sound.ready() ? "♪ " + t.sound_on : "♪ " + t.sound_enable);
    }
    el.addEventListener("click", function () {
      if (!sound.muted && !sound.ready()) { sound.unlock(); return; }
      sound.setMuted(!sound.muted);
      if (!sound.muted) sound.play("soft");
    });
    sound.listeners.push(paint);
    paint();
  }

  // --- The live connection --------------------------------------------------------------------------------
  // follow({load, onState, onEvent, status, t}) -> {reload}
  //   load(): Promise of the REST state ({seq, at, ...}); onState(state) replaces the screen's model;
  //   onEvent(envelope) applies one push. `status` is the element that shows the connection.
  const REORDER_MS = 250;

  function follow(opts) {
    const t = opts.t || {};
    let ws = null;
    let lastSeq = null;
    let loading = false;
    let buffer = [];
    let backoff = 1000;
    let lastHeard = Date.now();
    let pinger = null;
    let caughtUpAt = null;

    function show(state, extra) {
      const el = opts.status;
      document.body.dataset.live = state;
      if (!el) return;
      el.dataset.state = state;
      const label = { offline: t.offline, syncing: t.syncing, gap: t.gap, live: t.live }[state] || state;
      el.replaceChildren(...[h("span", { class: "ls-label", text: label }), extra ? h("span", { class: "ls-extra", text: " · " + extra }) : null].filter(Boolean));
      el.title = (extra || label) + (lastSeq == null ? "" : " · seq " + lastSeq);
    }

    let ahead = new Map(); // seq -> envelope that overtook a missing one
    let gapTimer = null;

    function forgetAhead() {
      ahead = new Map();
      if (gapTimer) { clearTimeout(gapTimer); gapTimer = null; }
    }

    let generation = 0;
    async function reload(why) {
      const mine = ++generation; // a newer reload (a reconnect meanwhile) wins over this one
      loading = true;
      buffer = [];
      forgetAhead();
      show(why === "gap" ? "gap" : "syncing");
      let state = null;
      while (state === null) {
        try {
          state = await opts.load();
        } catch (e) {
          state = null;
        }
        if (mine !== generation) return;
        if (state === null) {
          if (!ws || ws.readyState !== WebSocket.OPEN) { loading = false; return; }
          await new Promise(function (r) { setTimeout(r, 3000); });
          if (mine !== generation) return;
        }
      }
      if (state.at) setServerTime(state.at);
      lastSeq = state.seq;
      opts.onState(state);
      const pending = buffer.sort(function (a, b) { return a.seq - b.seq; });
      buffer = [];
      loading = false;
      for (const env of pending) receive(env);
      if (!loading) {
        caughtUpAt = new Date();
        show("live", (t.caught_up || "") + " " + clockTime(caughtUpAt.toISOString()));
      }
    }

    function receive(env) {
      if (loading) { buffer.push(env); return; }
      if (typeof env.seq !== "number" || lastSeq === null) return;
      if (env.seq <= lastSeq) return; // already in the state, or a duplicate
      if (env.seq > lastSeq + 1) {
        // Out of order or lost: wait a moment for the missing ones, then reload.
        ahead.set(env.seq, env);
        if (!gapTimer) gapTimer = setTimeout(function () { gapTimer = null; reload("gap"); }, REORDER_MS);
        return;
      }
      apply(env);
      while (!loading && ahead.has(lastSeq + 1)) {
        const next = ahead.get(lastSeq + 1);
        ahead.delete(lastSeq + 1);
        apply(next);
      }
      if (!loading && ahead.size === 0 && gapTimer) { clearTimeout(gapTimer); gapTimer = null; }
    }

    function apply(env) {
      lastSeq = env.seq;
      if (env.at) setServerTime(env.at);
      try {
        opts.onEvent(env);
      } catch (e) {
        if (window.console) console.error(e);
        reload("gap");
      }
    }

    function connect() {
      show("offline");
      try {
        ws = new WebSocket(window.ccWsUrl("/ws/board/"));
      } catch (e) {
        retry();
        return;
      }
      ws.onmessage = function (m) {
        lastHeard = Date.now();
        let env;
        try { env = JSON.parse(m.data); } catch (e) { return; }
        if (env.event === "hello") { backoff = 1000; reload("connect"); return; }
        if (env.event === "pong") return;
        receive(env);
      };
      ws.onclose = function () { ws = null; show("offline"); retry(); };
      ws.onerror = function () { /* onclose follows */ };
    }

    function retry() {
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }

    // A socket that silently died (a sleeping phone, a NAT timeout) is found by pings and replaced.
    pinger = setInterval(function () {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - lastHeard > 60000) { ws.close(); return; }
      ws.send(JSON.stringify({ type: "ping" }));
    }, 20000);

    window.addEventListener("online", function () { if (!ws) { backoff = 1000; } });
    connect();
    return { reload: reload, seq: function () { return lastSeq; }, stop: function () { clearInterval(pinger); if (ws) ws.close(); } };
  }

  // --- Categories (names for the codes that pushes carry) ---------------------------------------------------
  const categories = {};
  function loadCategories(url) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { for (const c of rows) categories[c.code] = CCFmt.localName(c); })
      .catch(function () { /* names only: the codes still show */ });
  }
  function categoryName(code) { return categories[code] || code || ""; }
  function topName(code) { return code ? categories[code.slice(0, 2) + "0000"] || "" : ""; }

  // Police stations as labelled squares on a map (orientation on a map with no tiles).
  function drawStations(map, orgs, layer) {
    if (!map || !window.L) return layer;
    if (layer) layer.clearLayers(); else layer = L.layerGroup().addTo(map);
    for (const o of orgs) {
      if (o.lat == null || o.lon == null || (o.level !== "station" && o.level !== "county")) continue;
      L.marker([o.lat, o.lon], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: "cc-org cc-org-" + o.level, html: "<i></i><span>" + CCMap.escape(o.name) + "</span>", iconSize: null }),
      }).addTo(layer);
    }
    return layer;
  }

  window.CCLive = {
    drawStations: drawStations,
    h: h,
    readJson: readJson,
    now: now,
    setServerTime: setServerTime,
    countdown: countdown,
    clockTime: clockTime,
    age: age,
    tickCountdowns: tickCountdowns,
    api: api,
    postForm: postForm,
    errorText: errorText,
    sound: sound,
    soundButton: soundButton,
    follow: follow,
    loadCategories: loadCategories,
    categoryName: categoryName,
    topName: topName,
  };
})();
