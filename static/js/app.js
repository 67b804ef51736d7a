// Small behaviours shared by every page. No inline scripts anywhere: a strict Content-Security-Policy holds.
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("select[data-autosubmit]")) {
    el.addEventListener("change", () => el.form.submit());
  }
});
