/* A long text on a card folds to 3 lines (CSS: .fold) with a button to unfold it ("展开") and fold it again.
   Pages mark such texts with class "fold", also when a script draws them later: one observer over the page
   adds the button where the text overflows and hides it where it does not (which depends on the width).
   The button's words come from <body data-fold-more data-fold-less>, in the page's language. */
(function () {
  "use strict";

  let queued = false;
  function labels() {
    const ds = document.body.dataset;
    return { more: ds.foldMore || "展开", less: ds.foldLess || "收起" };
  }
  function toggleOf(el) {
    const next = el.nextElementSibling;
    return next && next.classList.contains("fold-toggle") ? next : null;
  }
  function scan() {
    queued = false;
    const L = labels();
    for (const el of document.querySelectorAll(".fold")) {
      let btn = toggleOf(el);
      const open = el.classList.contains("fold-open");
      const long = open || el.scrollHeight > el.clientHeight + 1;
      if (!btn && !long) continue;
      if (!btn) {
        btn = document.createElement("button");
        btn.type = "button";
        btn.className = "link fold-toggle";
        btn.addEventListener("click", function (e) {
          e.stopPropagation();  // a card that opens on click stays as it is
          const nowOpen = el.classList.toggle("fold-open");
          btn.textContent = nowOpen ? L.less : L.more;
          btn.setAttribute("aria-expanded", nowOpen ? "true" : "false");
        });
        el.after(btn);
      }
      btn.textContent = open ? L.less : L.more;
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      btn.hidden = !long;
    }
  }
  function soon() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(scan);
  }
  document.addEventListener("DOMContentLoaded", function () {
    scan();
    // Only added or removed nodes: the button's own text and `hidden` changes do not start another scan.
    new MutationObserver(soon).observe(document.body, { childList: true, subtree: true });
    window.addEventListener("resize", soon);
  });
  window.CCFold = { scan: soon };
})();
