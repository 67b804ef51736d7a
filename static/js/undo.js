// CCUndo: a dispatch chosen by key goes out by itself after 5 s unless undone — the board's keys 1–9 and
// the intake desk's recommendation keys share this one mechanism (and its bar, static/css/undo.css).
//
// Why an undo and not a confirmation dialog: a confirmation costs every dispatch a second keystroke and
// trains the hand to press Enter blindly, while a mistyped digit is rare and is seen at once in the bar that
// names the call and the unit and counts down. So the order goes out after 5 s unless undone (Esc or the
// bar's button); Enter sends it at once. A second choice meanwhile replaces the pending one (the officer
// corrected it). Clicks on a screen's own buttons stay immediate: a click names its unit on screen, there
// is nothing to mistype.
//
//   const undo = CCUndo.create({ parent, t, send(p), undone(p) });
//   undo.queue({ number, name, ...whatever send() needs });   // shows the bar, starts the 5 s
//   (`verb`: what the bar says is coming, when not a dispatch — the desk's diversion by key)
//   if (undo.key(e)) return;   // first in a keydown handler: Esc undoes, Enter sends now (true if taken)
//
// t: the page's labels `dispatching`, `send_now`, `undo`. Load after dom.js.
(function () {
  "use strict";

  const h = CCDom.h;
  const UNDO_MS = 5000;

  function create(opts) {
    const t = opts.t || {};
    const ms = opts.ms || UNDO_MS;
    let pending = null; // {...p, due, timer}
    let ticker = 0;
    const bar = h("div", { class: "undo-bar", role: "status", "aria-live": "assertive", hidden: true });
    (opts.parent || document.body).appendChild(bar);

    // The bar is built once per choice; the tick only rewrites the seconds (a button keeps its focus).
    function draw() {
      if (!pending) {
        bar.hidden = true;
        bar.replaceChildren();
        clearInterval(ticker);
        ticker = 0;
        return;
      }
      bar.hidden = false;
      bar.replaceChildren(
        h("span", { class: "undo-what" }, [(pending.verb || t.dispatching) + " ", h("b", { text: pending.number }), " → ", h("b", { text: pending.name })]),
        h("span", { class: "undo-left" }),
        h("button", { type: "button", class: "undo-now", onclick: send, text: t.send_now }),
        h("button", { type: "button", class: "undo-cancel", onclick: undo, text: t.undo }),
      );
      tick();
      if (!ticker) ticker = setInterval(tick, 250);
    }
    function tick() {
      if (!pending) return;
      const text = Math.max(0, Math.ceil((pending.due - Date.now()) / 1000)) + " s";
      const left = bar.querySelector(".undo-left");
      if (left.textContent !== text) left.textContent = text;
    }
    function queue(p) {
      if (pending) clearTimeout(pending.timer);
      pending = Object.assign({}, p, { due: Date.now() + ms });
      pending.timer = setTimeout(send, ms);
      draw();
    }
    function take() {
      const p = pending;
      if (p) clearTimeout(p.timer);
      pending = null;
      draw();
      return p;
    }
    function send() {
      const p = take();
      if (p) opts.send(p);
    }
    function undo() {
      const p = take();
      if (p && opts.undone) opts.undone(p);
    }
    function key(e) {
      if (!pending) return false;
      if (e.key === "Escape") undo();
      else if (e.key === "Enter") send();
      else return false;
      e.preventDefault();
      return true;
    }
    return { queue: queue, send: send, undo: undo, key: key, pending: function () { return pending; }, bar: bar };
  }

  window.CCUndo = { create: create, MS: UNDO_MS };
})();
