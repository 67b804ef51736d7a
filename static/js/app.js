// Small behaviours shared by every page. No inline scripts anywhere: a strict Content-Security-Policy holds.
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("select[data-autosubmit]")) {
    el.addEventListener("change", () => el.form.submit());
  }
  // On a phone the nav scrolls sideways: bring the page's own entry into view (the nav alone scrolls).
  const nav = document.querySelector(".topnav");
  const here = nav && nav.querySelector("a[aria-current=page]");
  if (nav && here && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = here.offsetLeft - nav.offsetLeft - (nav.clientWidth - here.offsetWidth) / 2;
  }
});

// The base of WebSocket URLs: the server's WS_PUBLIC_URL, or this page's origin.
window.ccWsUrl = function (path) {
  const base = document.body.dataset.wsUrl || location.origin.replace(/^http/, "ws");
  return base.replace(/\/$/, "") + path;
};
